-- expect: error pattern too costly
return ("a"):rep(500):find(".-.-.-b")
