"""Converse fields of the current API model, sent by aws-sdk-bedrock-runtime: effort,
searchResult blocks, systemTool tools, toolRemoval / toolAddition in a system-role
message, a cache point's ttl and usage cacheDetails (botocore's model has neither effort
nor toolAddition/toolRemoval; this SDK's has both)."""
from aws_sdk_bedrock_runtime import models
from smithy_core.documents import Document

from conftest import CLAUDE, run, user

WEATHER = models.ToolToolSpec(value=models.ToolSpecification(
    name="get_weather", description="Current weather for a city",
    input_schema=models.ToolInputSchemaJson(value=Document({"type": "object", "properties": {"city": {"type": "string"}}}))))
TOOLS = models.ToolConfiguration(tools=[WEATHER, models.ToolSystemTool(value=models.SystemTool(name="nova_grounding"))])


def weather_question(system_blocks=None):
    messages = user("What is the weather in Lisbon?")
    if system_blocks:
        messages.insert(0, models.Message(role="system", content=system_blocks))
    return models.ConverseInput(model_id=CLAUDE, messages=messages, tool_config=TOOLS)


def test_effort_search_results_and_tool_set_changes(emulator):
    result = models.SearchResultBlock(source="https://example.com/granite", title="Granite",
                                      content=[models.SearchResultContentBlock(text="Granite is rich in quartz.")])
    removal = models.ContentBlockToolRemoval(value=models.ToolRemovalBlock(tool=models.ToolReference(name="get_weather")))
    addition = models.ContentBlockToolAddition(value=models.ToolAdditionBlock(tool=models.ToolReference(name="get_weather")))

    async def body(client):
        effort = await client.converse(models.ConverseInput(model_id=CLAUDE, messages=user("Plan a trip"),
                                                            output_config=models.OutputConfig(effort="high")))
        grounded = await client.converse(models.ConverseInput(model_id=CLAUDE, messages=[models.Message(role="user", content=[
            models.ContentBlockSearchResult(value=result), models.ContentBlockText(value="Summarise the result")])]))
        called = await client.converse(weather_question())
        removed = await client.converse(weather_question([removal]))
        restored = await client.converse(weather_question([removal, addition]))
        refused = None
        try:
            await client.converse(models.ConverseInput(model_id=CLAUDE, messages=user("Plan a trip"),
                                                       output_config=models.OutputConfig(effort="extreme")))
        except models.ValidationException as error:
            refused = error
        return effort, grounded, called, removed, restored, refused
    effort, grounded, called, removed, restored, refused = run(emulator, body)
    assert effort.stop_reason == "end_turn"
    assert "Granite" in grounded.output.value.content[0].value
    assert called.stop_reason == "tool_use"
    assert removed.stop_reason == "end_turn"
    assert restored.stop_reason == "tool_use"
    assert refused is not None and "outputConfig.effort" in refused.message


def test_cache_point_ttl_and_cache_details(emulator):
    system = [models.SystemContentBlockText(value="You are a patient geology tutor for children of every age."),
              models.SystemContentBlockCachePoint(value=models.CachePointBlock(type="default", ttl="1h"))]

    async def body(client):
        first = await client.converse(models.ConverseInput(model_id=CLAUDE, messages=user("What is mica?"), system=system))
        second = await client.converse(models.ConverseInput(model_id=CLAUDE, messages=user("And slate?"), system=system))
        return first, second
    first, second = run(emulator, body)
    written = first.usage.cache_write_input_tokens
    assert written > 0
    assert [(d.ttl, d.input_tokens) for d in first.usage.cache_details] == [("1h", written)]
    assert second.usage.cache_read_input_tokens == written
    assert not second.usage.cache_details
