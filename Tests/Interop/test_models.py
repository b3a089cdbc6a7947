"""boto3 drives every model operation of the emulator and checks what it gets back."""
import base64
import json

import pytest
from botocore.exceptions import ClientError

from conftest import CLAUDE, user

WEATHER_TOOL = {"toolSpec": {"name": "get_weather", "description": "Current weather for a city",
                             "inputSchema": {"json": {"type": "object",
                                                      "properties": {"city": {"type": "string"},
                                                                     "unit": {"type": "string", "enum": ["C", "F"]},
                                                                     "days": {"type": "integer", "minimum": 1}},
                                                      "required": ["city", "unit", "days"]}}}}

REEL = "amazon.nova-reel-v1:1"


def test_converse_answers_deterministically_with_consistent_usage(client):
    first = client.converse(modelId=CLAUDE, messages=user("What is the capital of France?"))
    second = client.converse(modelId=CLAUDE, messages=user("What is the capital of France?"))
    text = first["output"]["message"]["content"][0]["text"]
    assert "capital of France" in text
    assert first["output"] == second["output"]
    assert first["stopReason"] == "end_turn"
    usage = first["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    counted = client.count_tokens(modelId=CLAUDE, input={"converse": {"messages": user("What is the capital of France?")}})
    assert counted["inputTokens"] == usage["inputTokens"]
    assert first["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_seed_changes_the_answer_and_repeats(client):
    def ask(seed):
        return client.converse(modelId=CLAUDE, messages=user("Tell me something"),
                               additionalModelRequestFields={"seed": seed})["output"]["message"]["content"][0]["text"]
    assert ask(1) == ask(1)
    assert ask(1) != ask(2)


def test_max_tokens_cuts_the_answer(client):
    response = client.converse(modelId=CLAUDE, messages=user("Write a long story"), inferenceConfig={"maxTokens": 3})
    assert response["stopReason"] == "max_tokens"
    assert response["usage"]["outputTokens"] == 3


def test_stop_sequence_ends_the_answer(client):
    response = client.converse(modelId=CLAUDE, messages=user("alpha beta gamma"),
                               inferenceConfig={"stopSequences": ["beta"]})
    assert response["stopReason"] == "stop_sequence"
    assert "beta" not in response["output"]["message"]["content"][0]["text"]


@pytest.mark.parametrize("choice", [{"any": {}}, {"tool": {"name": "get_weather"}}])
def test_forced_tool_choice_calls_the_tool_with_schema_valid_input(client, choice):
    response = client.converse(modelId=CLAUDE, messages=user("How warm will it be in Lisbon?"),
                               toolConfig={"tools": [WEATHER_TOOL], "toolChoice": choice})
    assert response["stopReason"] == "tool_use"
    calls = [block["toolUse"] for block in response["output"]["message"]["content"] if "toolUse" in block]
    assert len(calls) == 1 and calls[0]["name"] == "get_weather"
    tool_input = calls[0]["input"]
    assert tool_input == {"city": "Lisbon", "unit": "C", "days": 1}
    assert calls[0]["toolUseId"].startswith("tooluse_")


def test_auto_tool_choice_calls_only_a_named_tool_and_uses_the_result(client):
    plain = client.converse(modelId=CLAUDE, messages=user("Hello there"), toolConfig={"tools": [WEATHER_TOOL]})
    assert plain["stopReason"] == "end_turn"
    messages = user("Please call get_weather for Oslo")
    first = client.converse(modelId=CLAUDE, messages=messages, toolConfig={"tools": [WEATHER_TOOL]})
    assert first["stopReason"] == "tool_use"
    call = next(block["toolUse"] for block in first["output"]["message"]["content"] if "toolUse" in block)
    messages.append(first["output"]["message"])
    messages.append({"role": "user", "content": [{"toolResult": {"toolUseId": call["toolUseId"],
                                                                 "content": [{"json": {"temperature": 21}}]}}]})
    second = client.converse(modelId=CLAUDE, messages=messages, toolConfig={"tools": [WEATHER_TOOL]})
    assert second["stopReason"] == "end_turn"
    answer = second["output"]["message"]["content"][0]["text"]
    assert "get_weather" in answer and "21" in answer


def test_reasoning_block_for_reasoning_models(client):
    response = client.converse(modelId="us.anthropic.claude-3-7-sonnet-20250219-v1:0", messages=user("Think about it"),
                               additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}})
    content = response["output"]["message"]["content"]
    assert "reasoningContent" in content[0]
    assert content[0]["reasoningContent"]["reasoningText"]["signature"]
    assert "text" in content[1]


def test_converse_stream_matches_converse(client):
    request = dict(modelId=CLAUDE, messages=user("Stream this please"))
    whole = client.converse(**request)
    events = list(client.converse_stream(**request)["stream"])
    assert list(events[0]) == ["messageStart"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == whole["output"]["message"]["content"][0]["text"]
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    assert events[-1]["metadata"]["usage"] == whole["usage"]


def test_converse_stream_tool_use(client):
    events = list(client.converse_stream(modelId=CLAUDE, messages=user("Weather in Rome?"),
                                         toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"any": {}}})["stream"])
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"]["name"] == "get_weather"
    partial = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events
                      if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"])
    assert json.loads(partial)["city"] == "Rome"
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


def test_inference_profiles_and_arns_resolve(client):
    for model_id in ["us." + CLAUDE, "global." + CLAUDE,
                     "arn:aws:bedrock:us-east-1::foundation-model/" + CLAUDE,
                     "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu." + CLAUDE]:
        assert client.converse(modelId=model_id, messages=user("hi"))["stopReason"] == "end_turn"


NATIVE = [
    (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 40, "messages": [{"role": "user", "content": "Hi"}]},
     lambda r: r["content"][0]["text"] and r["usage"]["output_tokens"] > 0 and r["stop_reason"] == "end_turn"),
    ("amazon.nova-lite-v1:0", {"schemaVersion": "messages-v1", "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
                               "inferenceConfig": {"maxTokens": 40}},
     lambda r: r["output"]["message"]["content"][0]["text"] and r["usage"]["totalTokens"] > 0),
    ("amazon.titan-text-express-v1", {"inputText": "Hi", "textGenerationConfig": {"maxTokenCount": 4}},
     lambda r: r["results"][0]["completionReason"] == "LENGTH" and r["results"][0]["tokenCount"] == 4),
    ("meta.llama3-8b-instruct-v1:0", {"prompt": "Hi", "max_gen_len": 50},
     lambda r: r["generation"] and r["stop_reason"] == "stop"),
    ("mistral.mistral-7b-instruct-v0:2", {"prompt": "<s>[INST] Hi [/INST]", "max_tokens": 50},
     lambda r: r["outputs"][0]["text"] and r["outputs"][0]["stop_reason"] == "stop"),
    ("cohere.command-r-v1:0", {"message": "Hi", "max_tokens": 50},
     lambda r: r["text"] and r["finish_reason"] == "COMPLETE"),
    ("amazon.titan-embed-text-v2:0", {"inputText": "Hi", "dimensions": 256},
     lambda r: len(r["embedding"]) == 256 and abs(sum(x * x for x in r["embedding"]) - 1) < 1e-6),
    ("cohere.embed-english-v3", {"texts": ["a", "b"], "input_type": "search_document"},
     lambda r: len(r["embeddings"]) == 2 and len(r["embeddings"][0]) == 1024),
]


@pytest.mark.parametrize("model_id,body,check", NATIVE, ids=[n[0] for n in NATIVE])
def test_invoke_model_native_formats(client, model_id, body, check):
    response = client.invoke_model(modelId=model_id, body=json.dumps(body), contentType="application/json")
    assert response["contentType"] == "application/json"
    assert check(json.loads(response["body"].read()))


@pytest.mark.parametrize("model_id,body", [(n[0], n[1]) for n in NATIVE[:6]], ids=[n[0] for n in NATIVE[:6]])
def test_invoke_model_with_response_stream(client, model_id, body):
    response = client.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(body))
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    assert len(chunks) >= 2
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] > 0
    assert response["contentType"] == "application/json"


def test_anthropic_stream_chunks_follow_the_messages_api(client):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}
    whole = json.loads(client.invoke_model(modelId=CLAUDE, body=json.dumps(body))["body"].read())
    chunks = [json.loads(e["chunk"]["bytes"]) for e in client.invoke_model_with_response_stream(modelId=CLAUDE, body=json.dumps(body))["body"]]
    assert [c["type"] for c in chunks[:2]] == ["message_start", "content_block_start"]
    assert chunks[-1]["type"] == "message_stop"
    text = "".join(c["delta"]["text"] for c in chunks if c["type"] == "content_block_delta")
    assert text == whole["content"][0]["text"]


def test_count_tokens_for_invoke_model_bodies(client):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": [{"role": "user", "content": "one two three"}]}
    response = client.invoke_model(modelId=CLAUDE, body=json.dumps(body))
    used = int(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-input-token-count"])
    counted = client.count_tokens(modelId=CLAUDE, input={"invokeModel": {"body": json.dumps(body).encode()}})
    assert counted["inputTokens"] == used == 3


VALIDATION = [
    (dict(modelId="no.such-model-v1:0", messages=user("hi")), "The provided model identifier is invalid."),
    (dict(modelId=CLAUDE, messages=[{"role": "assistant", "content": [{"text": "hi"}]}]), "must start with a user message"),
    (dict(modelId=CLAUDE, messages=user("a") + user("b")), "must alternate between user and assistant"),
    (dict(modelId=CLAUDE, messages=user("hi"), inferenceConfig={"maxTokens": 99999}), "exceeds the model limit of 4096"),
    (dict(modelId=CLAUDE, messages=user("   ")), "is blank"),
    (dict(modelId="amazon.titan-embed-text-v2:0", messages=user("hi")), "doesn't support"),
    (dict(modelId="amazon.titan-text-express-v1", messages=user("hi"), toolConfig={"tools": [WEATHER_TOOL]}), "doesn't support tool use"),
    (dict(modelId=CLAUDE, messages=user("hi"), toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"tool": {"name": "nope"}}}), "not defined"),
]


@pytest.mark.parametrize("request_args,message", VALIDATION, ids=[v[1][:30] for v in VALIDATION])
def test_validation_errors(client, request_args, message):
    with pytest.raises(ClientError) as caught:
        client.converse(**request_args)
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert message in error["Error"]["Message"]


def test_malformed_invoke_body(client):
    with pytest.raises(ClientError) as caught:
        client.invoke_model(modelId=CLAUDE, body=json.dumps({"anthropic_version": "bedrock-2023-05-31", "messages": []}))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "required key [max_tokens] not found" in caught.value.response["Error"]["Message"]


def test_apply_guardrail(client):
    passed = client.apply_guardrail(guardrailIdentifier="gr-1", guardrailVersion="DRAFT", source="INPUT",
                                    content=[{"text": {"text": "hello"}}])
    assert passed["action"] == "NONE"
    blocked = client.apply_guardrail(guardrailIdentifier="gr-1", guardrailVersion="1", source="OUTPUT",
                                     content=[{"text": {"text": "this is forbidden"}}])
    assert blocked["action"] == "GUARDRAIL_INTERVENED"
    assert blocked["outputs"][0]["text"]
    assert blocked["assessments"][0]["wordPolicy"]["customWords"][0]["match"] == "forbidden"


def test_async_invoke_lifecycle(client):
    started = client.start_async_invoke(modelId=REEL, modelInput={"taskType": "TEXT_VIDEO"},
                                        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bucket/out"}},
                                        clientRequestToken="token-1234567")
    arn = started["invocationArn"]
    assert arn.startswith("arn:aws:bedrock:us-east-1:")
    again = client.start_async_invoke(modelId=REEL, modelInput={"taskType": "TEXT_VIDEO"},
                                      outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bucket/out"}},
                                      clientRequestToken="token-1234567")
    assert again["invocationArn"] == arn
    got = client.get_async_invoke(invocationArn=arn)
    assert got["status"] == "Completed" and got["submitTime"].year >= 2024
    listed = client.list_async_invokes(statusEquals="Completed")
    assert arn in [s["invocationArn"] for s in listed["asyncInvokeSummaries"]]
    with pytest.raises(ClientError) as caught:
        client.start_async_invoke(modelId=REEL, modelInput={"taskType": "TEXT_IMAGE"},
                                  outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bucket/out"}},
                                  clientRequestToken="token-1234567")
    assert caught.value.response["Error"]["Code"] == "ConflictException"


def test_async_invoke_only_for_video_models(client):
    """The service runs StartAsyncInvoke for Nova Reel only; a text model is refused."""
    with pytest.raises(ClientError) as caught:
        client.start_async_invoke(modelId="amazon.nova-lite-v1:0", modelInput={"messages": []},
                                  outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bucket/out"}})
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "doesn't support StartAsyncInvoke" in error["Message"]
    with pytest.raises(ClientError) as caught:
        client.converse(modelId="amazon.nova-sonic-v1:0", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert "Use InvokeModelWithBidirectionalStream instead" in caught.value.response["Error"]["Message"]


def test_answers_are_prose_shaped_by_the_request_and_marked_emulated(client):
    messages = user("My name is Ada.") + [{"role": "assistant", "content": [{"text": "Hello Ada."}]}] + user("What is granite?")
    response = client.converse(modelId=CLAUDE, messages=messages, system=[{"text": "Answer like a geologist."}])
    text = response["output"]["message"]["content"][0]["text"]
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-quarry-emulated"] == "true"
    assert '"Answer like a geologist."' in text and '"My name is Ada."' in text and "granite" in text
    again = client.converse(modelId=CLAUDE, messages=messages, system=[{"text": "Answer like a geologist."}])
    assert again["output"]["message"]["content"][0]["text"] == text
    short = client.converse(modelId=CLAUDE, messages=user("Granite?"))
    longer = client.converse(modelId=CLAUDE, messages=user(
        "Explain how granite forms deep in the crust, how it is quarried, and why builders have used it for centuries."))
    assert longer["usage"]["outputTokens"] > short["usage"]["outputTokens"]
    cut = client.converse(modelId=CLAUDE, messages=messages, inferenceConfig={"maxTokens": 9})
    assert cut["stopReason"] == "max_tokens" and cut["usage"]["outputTokens"] == 9


def test_auto_tool_choice_follows_meaning_among_several_tools(client):
    flights = {"toolSpec": {"name": "search_flights", "description": "Find flights between two airports",
                            "inputSchema": {"json": {"type": "object"}}}}
    response = client.converse(modelId=CLAUDE, messages=user("What is the weather in Lisbon?"),
                               toolConfig={"tools": [flights, WEATHER_TOOL]})
    assert response["stopReason"] == "tool_use"
    call = next(block["toolUse"] for block in response["output"]["message"]["content"] if "toolUse" in block)
    assert call["name"] == "get_weather" and call["input"]["city"] == "Lisbon"
    unrelated = client.converse(modelId=CLAUDE, messages=user("Tell me a story about dragons"),
                                toolConfig={"tools": [flights, WEATHER_TOOL]})
    assert unrelated["stopReason"] == "end_turn"


def test_structured_output_is_json_valid_against_the_schema(client):
    schema = {"type": "object", "required": ["city", "days"],
              "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 2}}}
    response = client.converse(modelId=CLAUDE, messages=user("Plan a trip to Lisbon"), outputConfig={
        "textFormat": {"type": "JSON_SCHEMA", "structure": {"jsonSchema": {"schema": json.dumps(schema), "name": "trip"}}}})
    assert response["stopReason"] == "end_turn"
    assert json.loads(response["output"]["message"]["content"][0]["text"]) == {"city": "Lisbon", "days": 2}


def test_guardrail_on_converse_and_converse_stream(client):
    guardrail = {"guardrailIdentifier": "gr-1", "guardrailVersion": "1", "trace": "enabled"}
    blocked = client.converse(modelId=CLAUDE, messages=user("Share the classified report"), guardrailConfig=guardrail)
    assert blocked["stopReason"] == "guardrail_intervened"
    words = blocked["trace"]["guardrail"]["inputAssessment"]["gr-1"]["wordPolicy"]["customWords"]
    assert words[0]["match"] == "classified"
    events = list(client.converse_stream(modelId=CLAUDE, messages=user("Share the classified report"),
                                         guardrailConfig=guardrail)["stream"])
    assert next(e for e in events if "messageStop" in e)["messageStop"]["stopReason"] == "guardrail_intervened"
    assert "guardrail" in events[-1]["metadata"]["trace"]
    clean = client.converse(modelId=CLAUDE, messages=user("Tell me about granite"), guardrailConfig=guardrail)
    assert clean["stopReason"] == "end_turn"


def test_guardrail_on_converse_blocks_pii_like_apply_guardrail(client):
    """A guardrailConfig applies ApplyGuardrail's PII shapes too, on Converse and ConverseStream."""
    guardrail = {"guardrailIdentifier": "gr-1", "guardrailVersion": "1", "trace": "enabled"}
    text = "Send the invoice to ada@example.com"
    blocked = client.converse(modelId=CLAUDE, messages=user(text), guardrailConfig=guardrail)
    assert blocked["stopReason"] == "guardrail_intervened"
    assessment = blocked["trace"]["guardrail"]["inputAssessment"]["gr-1"]
    pii = assessment["sensitiveInformationPolicy"]["piiEntities"]
    assert pii[0]["type"] == "EMAIL" and pii[0]["match"] == "ada@example.com" and pii[0]["action"] == "BLOCKED"
    events = list(client.converse_stream(modelId=CLAUDE, messages=user(text), guardrailConfig=guardrail)["stream"])
    assert next(e for e in events if "messageStop" in e)["messageStop"]["stopReason"] == "guardrail_intervened"
    assert "sensitiveInformationPolicy" in events[-1]["metadata"]["trace"]["guardrail"]["inputAssessment"]["gr-1"]
    applied = client.apply_guardrail(guardrailIdentifier="gr-1", guardrailVersion="1", source="INPUT",
                                     content=[{"text": {"text": text}}])
    assert applied["action"] == "GUARDRAIL_INTERVENED"
    assert applied["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"] == pii


def test_cache_points_write_then_read(client):
    system = [{"text": "You are a meticulous archivist who answers with dates and places only."},
              {"cachePoint": {"type": "default"}}]
    first = client.converse(modelId=CLAUDE, messages=user("When was the archive founded?"), system=system)
    written = first["usage"]["cacheWriteInputTokens"]
    assert written > 0 and first["usage"]["cacheReadInputTokens"] == 0
    second = client.converse(modelId=CLAUDE, messages=user("Where is it?"), system=system)
    assert second["usage"]["cacheReadInputTokens"] == written
    assert second["usage"]["totalTokens"] == (second["usage"]["inputTokens"] + second["usage"]["outputTokens"]
                                               + second["usage"]["cacheReadInputTokens"])


def test_image_to_a_text_only_model_is_a_validation_error(client):
    image = {"image": {"format": "png", "source": {"bytes": b"\x89PNG\r\n\x1a\n"}}}
    messages = [{"role": "user", "content": [{"text": "What is in this picture?"}, image]}]
    with pytest.raises(ClientError) as caught:
        client.converse(modelId="amazon.titan-text-express-v1", messages=messages)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "doesn't support the image content block" in caught.value.response["Error"]["Message"]
    assert client.converse(modelId=CLAUDE, messages=messages)["stopReason"] == "end_turn"


def test_current_catalogue_models_answer(client):
    for model in ["us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.amazon.nova-2-lite-v1:0",
                  "us.meta.llama4-scout-17b-instruct-v1:0", "openai.gpt-oss-120b-1:0", "qwen.qwen3-32b-v1:0"]:
        assert client.converse(modelId=model, messages=user("Hello granite"))["stopReason"] == "end_turn"
    body = json.dumps({"messages": [{"role": "user", "content": "Name a rock"}], "max_completion_tokens": 40})
    answer = json.loads(client.invoke_model(modelId="openai.gpt-oss-20b-1:0", body=body)["body"].read())
    assert answer["choices"][0]["message"]["content"].startswith('You said: "Name a rock"')


def test_scripted_replies_through_the_admin_api(emulator, client):
    weather = {"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}
    flights = {"toolSpec": {"name": "search_flights", "inputSchema": {"json": {"type": "object"}}}}
    status, body = emulator.admin("POST", "responses", {"contains": "trip", "times": 1,
                                                         "tool": {"name": "search_flights", "input": {"to": "OSL"}}})
    assert status == 201, body
    emulator.admin("POST", "responses", {"contains": "trip", "text": "Booked: OSL, 2 nights."})
    tools = {"tools": [weather, flights]}
    first = client.converse(modelId=CLAUDE, messages=user("Plan my trip"), toolConfig=tools)
    call = next(b["toolUse"] for b in first["output"]["message"]["content"] if "toolUse" in b)
    assert call["name"] == "search_flights" and call["input"] == {"to": "OSL"}
    second = client.converse(modelId=CLAUDE, messages=user("Plan my trip"), toolConfig=tools)
    assert second["output"]["message"]["content"][0]["text"] == "Booked: OSL, 2 nights."
    status, listed = emulator.admin("GET", "responses")
    assert [r["reply"]["text"] for r in listed["responses"]] == ["Booked: OSL, 2 nights."]
    emulator.admin("DELETE", "responses")
    status, body = emulator.admin("POST", "responses", {"contains": "x"})
    assert status == 400 and "needs one of text, tool, json or error" in body["message"]


def test_search_results_system_tools_and_cache_details(client):
    """Fields botocore's model has: searchResult blocks, systemTool tools, a cache point's
    ttl and usage cacheDetails."""
    grounded = client.converse(modelId=CLAUDE, messages=[{"role": "user", "content": [
        {"searchResult": {"source": "https://example.com/granite", "title": "Granite",
                          "content": [{"text": "Granite is rich in quartz."}]}},
        {"text": "Summarise the result"}]}],
        toolConfig={"tools": [WEATHER_TOOL, {"systemTool": {"name": "nova_grounding"}}]})
    assert "Granite" in grounded["output"]["message"]["content"][0]["text"]
    system = [{"text": "You are a patient geology tutor for children of every age, boto3 edition."},
              {"cachePoint": {"type": "default", "ttl": "1h"}}]
    first = client.converse(modelId=CLAUDE, system=system, messages=user("What is mica?"))
    second = client.converse(modelId=CLAUDE, system=system, messages=user("And slate?"))
    written = first["usage"]["cacheWriteInputTokens"]
    assert written > 0
    assert first["usage"]["cacheDetails"] == [{"ttl": "1h", "inputTokens": written}]
    assert second["usage"]["cacheReadInputTokens"] == written
    assert "cacheDetails" not in second["usage"]


def test_search_result_citations_in_converse_and_stream(client):
    messages = [{"role": "user", "content": [
        {"searchResult": {"source": "https://example.com/granite", "title": "Granite",
                          "content": [{"text": "Granite is rich in quartz."}], "citations": {"enabled": True}}},
        {"text": "Summarise the result"}]}]
    answer = client.converse(modelId=CLAUDE, messages=messages)
    block = answer["output"]["message"]["content"][0]["citationsContent"]
    assert block["citations"][0]["location"]["searchResultLocation"]["searchResultIndex"] == 0
    events = list(client.converse_stream(modelId=CLAUDE, messages=messages)["stream"])
    citations = [e["contentBlockDelta"]["delta"]["citation"] for e in events
                 if "citation" in e.get("contentBlockDelta", {}).get("delta", {})]
    assert [c["title"] for c in citations] == ["Granite"]
    assert citations[0]["sourceContent"] == [{"text": "Granite is rich in quartz."}]
