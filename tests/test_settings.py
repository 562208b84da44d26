"""The one settings object: defaults, nesting, validation, and every family honouring the form."""

from __future__ import annotations

import threading

import pytest
import torch

import scratchnn
import scratchnn.functional as F
from helpers import assert_close
from scratchnn._trace import recording


def test_defaults_nesting_and_restoring():
    assert scratchnn.current_settings() == scratchnn.Settings()
    with scratchnn.settings(form="literal", budget=2**20) as outer:
        assert (outer.form, outer.budget, outer.conv) == ("literal", 2**20, "auto")
        with scratchnn.settings(conv="shift-gemm") as inner:
            assert (inner.form, inner.conv) == ("literal", "shift-gemm")
            assert scratchnn.current_settings() is inner
        assert scratchnn.current_settings() is outer
    assert scratchnn.current_settings() == scratchnn.Settings()


def test_a_failed_block_leaves_the_settings_as_they_were():
    with pytest.raises(RuntimeError, match="inside"), scratchnn.settings(form="literal"):
        raise RuntimeError("inside")
    assert scratchnn.current_settings().form == "fast"


def test_older_names_are_the_same_settings():
    with scratchnn.contraction("literal", budget=4096) as chosen:
        assert scratchnn.current_settings() is chosen and (chosen.form, chosen.budget) == ("literal", 4096)
    with F.sdpa_backend("blocked", block_size=(8, 16), threshold=0) as chosen:
        assert (chosen.attention, chosen.attention_tiles, chosen.attention_threshold) == (
            "blocked",
            (8, 16),
            0,
        )
    from scratchnn.functional.conv import algorithm

    with algorithm("unfold-gemm") as chosen:
        assert chosen.conv == "unfold-gemm"


def test_each_thread_starts_from_the_defaults():
    seen = []
    with scratchnn.settings(form="literal"):
        thread = threading.Thread(target=lambda: seen.append(scratchnn.current_settings().form))
        thread.start()
        thread.join()
    assert seen == ["fast"]


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        (
            {"form": "exact"},
            ValueError,
            r"settings: form must be one of \('fast', 'literal'\), got form='exact'",
        ),
        ({"budget": 0}, ValueError, r"settings: budget must be a positive number of bytes, got budget=0"),
        ({"budget": 1.5}, ValueError, r"budget must be a positive number of bytes, got budget=1.5"),
        (
            {"conv": "winograd"},
            ValueError,
            r"settings: conv must be one of \('auto', 'einsum', .*conv='winograd'",
        ),
        (
            {"conv_chunk_samples": 0},
            ValueError,
            r"conv_chunk_samples must be a positive number of samples or None",
        ),
        (
            {"conv_block_columns": True},
            ValueError,
            r"conv_block_columns must be a positive number of columns",
        ),
        ({"attention": "flash"}, ValueError, r"attention must be one of \('auto', 'literal', 'blocked'\)"),
        ({"attention_tiles": (4, 0)}, ValueError, r"attention_tiles must be a positive int or a pair"),
        ({"attention_tiles": (4, 4, 4)}, ValueError, r"got attention_tiles=\(4, 4, 4\)"),
        ({"attention_threshold": -1}, ValueError, r"attention_threshold must be a non-negative number"),
        (
            {"semiring_small_window": 0},
            ValueError,
            r"semiring_small_window must be a positive number of taps",
        ),
        ({"chunk": 2}, TypeError, r"settings: no setting named 'chunk'; the settings are attention, "),
    ],
)
def test_bad_settings_are_refused_before_anything_changes(changes, error, message):
    with pytest.raises(error, match=message), scratchnn.settings(**changes):
        pass
    assert scratchnn.current_settings() == scratchnn.Settings()


def test_none_keeps_a_field_except_where_none_is_a_value():
    with scratchnn.settings(conv_chunk_samples=3), scratchnn.settings(form=None) as chosen:
        assert (chosen.form, chosen.conv_chunk_samples) == ("fast", 3)
        with scratchnn.settings(conv_chunk_samples=None) as inner:
            assert inner.conv_chunk_samples is None


def test_explicitly_chosen_fields_are_known():
    assert scratchnn.current_settings().chosen == frozenset()
    with scratchnn.settings(form="fast"), scratchnn.settings(budget=2**20) as chosen:
        assert chosen.chosen == {"form", "budget"}


# --- the literal form reaches every family -------------------------------------------------------


def kinds(fn) -> list[str]:
    with recording() as steps:
        fn()
    return [step.kind for step in steps]


def test_the_literal_form_makes_attention_literal():
    q = torch.randn(1, 2, 600, 8, requires_grad=True)  # scores 2·600·600·4 B > the 1 MiB threshold

    def blocked_in_graph(out: torch.Tensor) -> bool:
        nodes, seen = [out.grad_fn], set()
        while nodes:
            node = nodes.pop()
            if node is None or node in seen:
                continue
            if type(node).__name__.startswith("_BlockedAttention"):
                return True
            seen.add(node)
            nodes.extend(next_node for next_node, _ in node.next_functions)
        return False

    fast = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert blocked_in_graph(fast)
    with scratchnn.settings(form="literal", budget=2**20):
        literal = F.scaled_dot_product_attention(q, q, q, is_causal=True)
        with recording() as steps:
            F.scaled_dot_product_attention(q[:, :, :5], q[:, :, :5], q[:, :, :5])
        assert not blocked_in_graph(literal)
        # an explicit per-call backend is the one exception: it names the form for that call
        assert blocked_in_graph(F.scaled_dot_product_attention(q, q, q, backend="blocked"))
    notes = [step.note for step in steps if step.kind == "contract"]
    assert len(notes) == 2 and all("literal form" in note for note in notes)
    assert_close(literal, fast)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: F.conv2d(torch.randn(1, 2, 6, 6), torch.randn(3, 2, 3, 3), padding=1), "windows"),
        (lambda: F.conv_transpose2d(torch.randn(1, 2, 4, 4), torch.randn(2, 3, 3, 3), stride=2), "windows"),
        (lambda: F.max_pool2d(torch.randn(1, 2, 6, 6), 3, 2, 1), "windows"),
        (lambda: F.avg_pool2d(torch.randn(1, 2, 6, 6), 3, 2, 1), "windows"),
        (lambda: F.unfold(torch.randn(1, 2, 6, 6), 3), "windows"),
    ],
    ids=["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "unfold"],
)
def test_the_literal_form_reads_the_window_view(call, expected):
    with scratchnn.settings(form="literal"):
        assert expected in kinds(call)


def test_no_op_changes_torch_thread_count(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))
    q = torch.randn(2, 4, 1024, 16, requires_grad=True)  # large enough to be split, were it split
    with scratchnn.settings(attention="blocked", attention_tiles=128):
        F.scaled_dot_product_attention(q, q, q).sum().backward()
    x = torch.randn(4, 16, 32, 32, requires_grad=True)
    F.conv2d(x, torch.randn(16, 16, 3, 3), padding=1).sum().backward()
    F.max_pool2d(x, 3, 2).sum().backward()
    assert calls == []
