"""The real recorded streams in ``tests/data/real`` and what ssedelta must make of each.

Per stream ``<name>``: ``<name>.sse`` (the recorded body), ``<name>.expected.json`` (the official
openai-python SDK 3.57.0's merge, the oracle; see ``PROVENANCE.md``) and ``<name>.ssedelta.json``
(ours, derived from the SDK's by ``derive_expected.py``; see ``DIFFERENCES.md``).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "real"

STREAMS: list[str] = sorted(p.name[: -len(".sse")] for p in DATA.glob("*.sse"))

#: The transformations that turn the SDK's result into ours, per stream, in the order
#: ``derive_expected.py`` applies them (each is described in ``DIFFERENCES.md``).
DIFFERENCES: dict[str, tuple[str, ...]] = {
    "openai-dotnet__gpt4o_audio_preview_audio_output": (
        "drop_sdk_only_keys",
        "required_keys_always_present",
        "chunks_without_choices",
    ),
    "openai-dotnet__gpt_audio_15_audio_input_transcript": (
        "drop_sdk_only_keys",
        "required_keys_always_present",
        "chunks_without_choices",
    ),
    "openai-dotnet__gpt_audio_15_audio_output": (
        "drop_sdk_only_keys",
        "required_keys_always_present",
        "chunks_without_choices",
    ),
    "openai-node__gpt4o_json_schema_usage": ("drop_sdk_only_keys",),
    "openai-node__gpt4o_logprobs_content_usage": ("drop_sdk_only_keys",),
    "openai-node__gpt4o_logprobs_refusal_usage": ("drop_sdk_only_keys",),
    "openai-python__gpt4o_finish_length_max_tokens": ("drop_sdk_only_keys", "length_is_not_an_error"),
    "openai-python__gpt4o_json_object_long": ("drop_sdk_only_keys",),
    "openai-python__gpt4o_json_schema_n3_choices": ("drop_sdk_only_keys",),
    "openai-python__gpt4o_json_schema_pydantic": ("drop_sdk_only_keys",),
    "openai-python__gpt4o_logprobs_content": ("drop_sdk_only_keys",),
    "openai-python__gpt4o_logprobs_refusal": ("drop_sdk_only_keys",),
    "openai-python__gpt4o_non_strict_tool_call": ("drop_sdk_only_keys",),
    "openai-python__gpt4o_parallel_tool_calls": ("drop_sdk_only_keys",),
    "openai-python__gpt4o_plain_content_usage": ("drop_sdk_only_keys",),
    "openai-python__gpt4o_refusal": ("drop_sdk_only_keys",),
    "openai-python__gpt4o_strict_tool_call": ("drop_sdk_only_keys",),
    "openai-python__gpt4o_tool_call_single": ("drop_sdk_only_keys",),
    "pydantic-ai__crusoe_vllm_llama_usage": ("drop_sdk_only_keys", "provider_keys_last_non_null"),
    "pydantic-ai__deepseek_reasoner_reasoning_content": ("drop_sdk_only_keys",),
    "pydantic-ai__groq_compound_executed_tools": (
        "drop_sdk_only_keys",
        "role_defaults_to_assistant",
        "groq_usage_fallback",
        "provider_keys_last_non_null",
        "executed_tools_appended",
    ),
    "pydantic-ai__groq_gpt_oss_event_error_tool_use_failed": (
        "drop_sdk_only_keys",
        "delta_scalar_keys",
        "upstream_error_chunk_merged",
    ),
    "pydantic-ai__groq_gpt_oss_reasoning_tool_call": (
        "drop_sdk_only_keys",
        "provider_keys_last_non_null",
        "delta_scalar_keys",
    ),
    "pydantic-ai__hf_novita_llama_sla_metrics": (
        "drop_sdk_only_keys",
        "required_keys_always_present",
        "provider_keys_last_non_null",
    ),
    "pydantic-ai__hf_together_deepseek_r1_think_tags": (
        "drop_sdk_only_keys",
        "role_set_once",
        "provider_keys_last_non_null",
        "delta_numbers_last_value",
    ),
    "pydantic-ai__mistral_magistral_thinking_content_list": (
        "drop_sdk_only_keys",
        "required_keys_always_present",
        "content_parts",
    ),
    "pydantic-ai__openai_gpt4o_mini_tool_call_obfuscation": ("drop_sdk_only_keys",),
    "pydantic-ai__openai_gpt5_moderation_chunk": (
        "drop_sdk_only_keys",
        "required_keys_always_present",
        "usage_last_non_null",
    ),
    "pydantic-ai__openrouter_claude_reasoning_details": (
        "drop_sdk_only_keys",
        "role_set_once",
        "provider_keys_last_non_null",
        "delta_scalar_keys",
    ),
    "pydantic-ai__openrouter_minimax_error_chunk": (
        "drop_sdk_only_keys",
        "role_set_once",
        "provider_keys_last_non_null",
        "upstream_error_chunk_merged",
    ),
    "pydantic-ai__openrouter_web_search_annotations": (
        "drop_sdk_only_keys",
        "required_keys_always_present",
        "annotations_appended",
    ),
    "pydantic-ai__snowflake_cortex_claude_empty_ids": (
        "drop_sdk_only_keys",
        "required_keys_always_present",
        "role_set_once",
    ),
    "pydantic-ai__zai_glm_reasoning_content": (
        "drop_sdk_only_keys",
        "required_keys_always_present",
        "role_set_once",
    ),
    "quarkus-langchain4j__azure_gpt4o_prompt_filter_results": (
        "drop_sdk_only_keys",
        "azure_filter_chunks_kept",
    ),
    "semantic-kernel__azure_gpt4o_async_content_filter": ("drop_sdk_only_keys", "azure_filter_chunks_kept"),
    "semantic-kernel__mistral_tool_call_without_index": (
        "drop_sdk_only_keys",
        "tool_call_type_defaults_to_function",
        "tool_calls_without_index",
    ),
    "vercel-ai__alibaba_qwen3_reasoning_content": ("drop_sdk_only_keys",),
    "vercel-ai__azure_model_router_prompt_filter_results": ("drop_sdk_only_keys", "azure_filter_chunks_kept"),
    "vercel-ai__cerebras_glm_reasoning_tool_call": (
        "drop_sdk_only_keys",
        "required_keys_always_present",
        "role_set_once",
        "new_tool_id_starts_new_call",
        "provider_keys_last_non_null",
    ),
    "vercel-ai__deepseek_reasoner_tool_call": ("drop_sdk_only_keys",),
    "vercel-ai__openai_gpt35_0613_legacy_function_call": (
        "drop_sdk_only_keys",
        "required_keys_always_present",
    ),
    "vercel-ai__openai_gpt41_nano_text": ("drop_sdk_only_keys",),
}


@cache
def derive_module() -> ModuleType:
    """``tests/data/real/derive_expected.py``, imported from its path."""
    name = "ssedelta_tests_derive_expected"
    spec = importlib.util.spec_from_file_location(name, DATA / "derive_expected.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@cache
def body(name: str) -> bytes:
    return (DATA / f"{name}.sse").read_bytes()


@cache
def _json(filename: str) -> str:
    return (DATA / filename).read_text("utf-8")


def sdk_result(name: str) -> dict[str, Any]:
    """The SDK's merge: a completion, or ``{"error": ..., "partial_snapshot": ...}`` when it raised."""
    return json.loads(_json(f"{name}.expected.json"))  # type: ignore[no-any-return]


def expected(name: str) -> dict[str, Any]:
    """Ours: a completion's ``to_dict()``, or ``{"error": ..., "partial": ...}`` for an upstream error."""
    return json.loads(_json(f"{name}.ssedelta.json"))  # type: ignore[no-any-return]


def is_upstream_error(result: dict[str, Any]) -> bool:
    return set(result) == {"error", "partial"}


def payloads(data: bytes) -> list[str]:
    """The ``data`` payload text of every chunk before ``[DONE]`` and before an upstream error, read by
    the independent SSE parser of ``derive_expected.py`` (not by ssedelta)."""
    out = []
    for event, text in derive_module().read_events(data):
        stripped = text.strip()
        if stripped == "[DONE]":
            break
        if not stripped or stripped.startswith(":"):
            continue
        parsed = json.loads(text)
        if event == "error" or parsed.get("error"):
            break
        out.append(text)
    return out


def merge_result(
    merge: Any, source: bytes | Iterable[bytes], upstream_error: type[Exception]
) -> dict[str, Any]:
    """``merge(source).to_dict()``, or ``{"error", "partial"}`` when it raises the upstream error."""
    try:
        completion = merge(source)
    except upstream_error as exc:
        return {"error": exc.error, "partial": exc.partial.to_dict()}  # type: ignore[attr-defined]
    return completion.to_dict()  # type: ignore[no-any-return]


def line_ends(data: bytes, ending: bytes) -> bytes:
    """The stream with every LF line end replaced by ``ending`` (the recorded streams use LF only;
    JSON payloads never hold a raw line break)."""
    assert b"\r" not in data
    return data.replace(b"\n", ending)
