"""The chat models the native core frees by clearing their slots: what they hold is released at
once, subclasses (with a ``__dict__``, weak references, a ``__del__``) are freed as before, a
``__del__`` given to a model class later runs, and a long chain of models is freed without
exhausting the C stack."""

from __future__ import annotations

import gc
import sys
import weakref
from typing import Any

import pytest

from ssedelta._env import NO_EXTENSIONS
from ssedelta.chat import models

pytestmark = [
    pytest.mark.c_extension,
    pytest.mark.skipif(NO_EXTENSIONS, reason="SSEDELTA_NO_EXTENSIONS is set"),
]


@pytest.fixture(scope="module")
def merge_c() -> Any:
    from ssedelta.chat import _merge_c

    return _merge_c


class Held:
    """A value a model holds, whose release a weak reference shows."""


def _slots_only(cls: type) -> bool:
    return all("__slots__" in vars(k) for k in cls.__mro__[:-1]) and not cls.__weakrefoffset__


MODEL_CLASSES = [
    c
    for c in vars(models).values()
    if isinstance(c, type) and issubclass(c, models.Model) and c is not models.Model
]


def test_the_result_and_chunk_classes_are_freed_by_their_slots(merge_c: Any) -> None:
    for cls in (
        models.CreateChatCompletionResponse,
        models.CreateChatCompletionResponseChoicesInner,
        models.ChatCompletionResponseMessage,
        models.CreateChatCompletionStreamResponse,
        models.ChatCompletionStreamResponseDelta,
    ):
        assert merge_c._frees_by_slots(cls), cls.__name__
    assert not merge_c._frees_by_slots(Held)


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_every_field_is_released_when_the_model_goes(merge_c: Any, cls: type) -> None:
    if merge_c._frees_by_slots(cls):
        assert _slots_only(cls)
    else:  # the logprobs classes, whose tokens are decoded lazily: freed by the interpreter's
        assert issubclass(cls, models._LazyTokens)
    obj = cls.__new__(cls)
    refs = []
    slots = [vars(k)[name] for k in cls.__mro__[:-1] for name in vars(k)["__slots__"]]
    assert slots
    for slot in slots:
        value = Held()
        refs.append(weakref.ref(value))
        slot.__set__(obj, value)
    gc.disable()
    try:
        del obj, value
        assert [r() for r in refs] == [None] * len(refs)
    finally:
        gc.enable()


def test_a_subclass_with_a_dict_and_weak_references_is_freed(merge_c: Any) -> None:
    class Mine(models.ChatCompletionResponseMessage):
        pass

    assert not merge_c._frees_by_slots(Mine)
    obj = Mine(role="assistant", content="x")
    base_value, own_value = Held(), Held()
    obj.extras = {"v": base_value}
    obj.mine = own_value
    refs = [weakref.ref(base_value), weakref.ref(own_value), weakref.ref(obj)]
    gc.disable()
    try:
        del obj, base_value, own_value
        assert [r() for r in refs] == [None, None, None]
    finally:
        gc.enable()


def test_a_subclass_finalizer_runs_once(merge_c: Any) -> None:
    ran = []

    class Finalized(models.ChatCompletionResponseMessage):
        __slots__ = ()

        def __del__(self) -> None:
            ran.append(self.content)

    obj = Finalized(role="assistant", content="bye")
    del obj
    assert ran == ["bye"]


def test_a_finalizer_given_to_the_class_later_runs(merge_c: Any) -> None:
    cls = models.ChatCompletionResponseMessage
    assert merge_c._frees_by_slots(cls)
    ran = []
    cls.__del__ = lambda self: ran.append(self.content)  # type: ignore[attr-defined]
    try:
        obj = cls(role="assistant", content="late")
        del obj
    finally:
        del cls.__del__  # type: ignore[attr-defined]
    assert ran == ["late"]
    obj = cls(role="assistant", content="after")
    del obj
    assert ran == ["late"]


def test_a_long_chain_of_models_is_freed(merge_c: Any) -> None:
    cls = models.ChatCompletionResponseMessage
    tail = Held()
    ref = weakref.ref(tail)
    gc.disable()
    try:
        head = cls(role="assistant", audio=tail)
        for _ in range(200_000):
            head = cls(role="assistant", audio=head)
        del tail
        assert ref() is not None
        del head
        assert ref() is None
    finally:
        gc.enable()


def test_merged_results_and_decoded_chunks_free_what_they_hold(merge_c: Any) -> None:
    from ssedelta import get_backend

    native = get_backend("native")
    data = (
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
        b'"delta":{"role":"assistant","content":"hi"},"finish_reason":null}],"x":{"a":[1]}}\n\n'
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
        b'"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    )
    gc.disable()
    try:
        result = native.merge([data])
        held = result.extras["x"]
        alone = sys.getrefcount(held)
        chunks = list(native.iter_chunks([data]))
        in_chunk = chunks[0].extras["x"]
        chunk_alone = sys.getrefcount(in_chunk)
        assert result.choices[0].message.content == "hi" and held == in_chunk == {"a": [1]}
        del result, chunks
        assert sys.getrefcount(held) == alone - 1
        assert sys.getrefcount(in_chunk) == chunk_alone - 1
    finally:
        gc.enable()
