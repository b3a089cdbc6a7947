-- A stream cut mid-answer: with stream_retry = "fail" the caller gets the error and the
-- partial answer; with "restart" the call starts over and the answer is complete.
local MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
local PROMPT = "Tell me a story about a quarry"

local function full_text()
  return bedrock.stream{model = MODEL, messages = PROMPT}:collect().text
end

describe("stream cut mid-answer", function()
  test("policy fail: the error carries the partial answer", function()
    local clean = full_text()
    emulator.fault{operation = "ConverseStream", stream = "exception", after_events = 3, times = 1}
    local s = bedrock.stream{model = MODEL, messages = PROMPT, stream_retry = "fail"}
    local err = expect(function() s:collect() end).to_fail_with("ModelStreamErrorException")
    expect(err.partial).to_be_truthy()
    expect(#err.partial.text).to_be_greater_than(0)
    expect(clean:sub(1, #err.partial.text)).to_equal(err.partial.text)
    expect(err.partial.text).never.to_equal(clean)
  end)

  test("policy restart: the call starts over and the answer is whole", function()
    local clean = full_text()
    emulator.fault{operation = "ConverseStream", stream = "close", after_events = 4, times = 1}
    local restarts = 0
    local s = bedrock.stream{model = MODEL, messages = PROMPT, stream_retry = "restart"}
    local text = {}
    for ev in s do
      if ev.type == "restart" then restarts = restarts + 1; text = {} end
      if ev.type == "text" then text[#text + 1] = ev.text end
    end
    expect(restarts).to_equal(1)
    expect(table.concat(text)).to_equal(clean)
  end)

  test("client-side truncation and corrupt CRC are caught as broken streams", function()
    fault.inject{operation = "ConverseStream", stream = "truncate", after_events = 2, times = 1}
    expect(function() full_text() end).to_fail_with("IncompleteStream")
    fault.inject{operation = "ConverseStream", stream = "corrupt_crc", after_events = 2, times = 1}
    expect(function() full_text() end).to_fail_with("InvalidResponse")
  end)

  test("a restart policy in Lua: resilience.retry around a failing stream", function()
    fault.inject{operation = "ConverseStream", stream = "exception", exception = "ThrottlingException",
                 after_events = 2, times = 2}
    local retry = resilience.retry{attempts = 3, base = 0.01}
    local text = retry(function()
      return bedrock.stream{model = MODEL, messages = PROMPT, stream_retry = "fail"}:collect().text
    end)
    expect(text).to_equal(full_text())
    expect(retry.stats().retries).to_equal(2)
  end)
end)
