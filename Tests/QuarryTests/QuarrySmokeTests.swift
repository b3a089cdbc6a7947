import Testing
@testable import Quarry
