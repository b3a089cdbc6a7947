"""The emulated models' behaviours (issue 19 §4), as AWS's Python SDK sees them."""
import json

from aws_sdk_bedrock_runtime import models

from conftest import CLAUDE, run, user


def text_of(response):
    return response.output.value.content[0].value


def test_structured_output_guardrail_and_cache_points(emulator):
    schema = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}
    output = models.OutputConfig(text_format=models.OutputFormat(
        type="JSON_SCHEMA", structure=models.OutputFormatStructureJsonSchema(
            value=models.JsonSchemaDefinition(schema=json.dumps(schema), name="trip"))))
    system = [models.SystemContentBlockText(value="You are a travel agent who answers with one city name only."),
              models.SystemContentBlockCachePoint(value=models.CachePointBlock(type="default"))]
    guardrail = models.GuardrailConfiguration(guardrail_identifier="gr-1", guardrail_version="1", trace="enabled")

    async def body(client):
        structured = await client.converse(models.ConverseInput(model_id=CLAUDE, messages=user("Plan a trip to Lisbon"),
                                                                output_config=output))
        blocked = await client.converse(models.ConverseInput(model_id=CLAUDE, messages=user("the classified file"),
                                                             guardrail_config=guardrail))
        first = await client.converse(models.ConverseInput(model_id=CLAUDE, messages=user("Where to?"), system=system))
        second = await client.converse(models.ConverseInput(model_id=CLAUDE, messages=user("And then?"), system=system))
        return structured, blocked, first, second
    structured, blocked, first, second = run(emulator, body)
    assert json.loads(text_of(structured)) == {"city": "Lisbon"}
    assert blocked.stop_reason == "guardrail_intervened" and blocked.trace is not None
    assert first.usage.cache_write_input_tokens > 0
    assert second.usage.cache_read_input_tokens == first.usage.cache_write_input_tokens
