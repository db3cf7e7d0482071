"""Shared fixtures: the simulator over the installed packs, a temporary extra pack made from
the `azmed packs new` template (a specialty added as one file, no code), and a tiny randomly
initialised Llama for fast model tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AZMED = [sys.executable, "-m", "azmed.cli"]


def run_cli(*args, input=None, cwd=None):
    """Run the real `azmed` CLI in a subprocess; returns CompletedProcess (text)."""
    return subprocess.run([*AZMED, *map(str, args)], capture_output=True, text=True, input=input, cwd=cwd, timeout=600)


@pytest.fixture(scope="session")
def sim():
    from simulator.core import Simulator

    return Simulator.load()


@pytest.fixture(scope="session")
def extra_pack_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("packs")
    text = (ROOT / "knowledge" / "templates" / "new_pack.yaml").read_text()
    (d / "hematology_demo.yaml").write_text(text.replace("__NAME__", "hematology_demo").replace("__TITLE__", "Hematology demo"))
    return d


@pytest.fixture(scope="session")
def sim_with_extra(extra_pack_dir):
    from simulator.core import Simulator

    return Simulator.load(extra_dirs=[extra_pack_dir])


def save_tiny_llama(folder: Path, tokenizer) -> Path:
    """A 2-layer Llama (SmolLM2's architecture, random weights, seed 0) with `tokenizer`, saved
    as a Hugging Face folder that `azmed.model.load_policy` loads like any other."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id,
                      pad_token_id=tokenizer.eos_token_id)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def walk_guide(guide, on_choice, on_free=None, limit: int = 500) -> str:
    """Write an answer through a guide (`simulator.tools.CallGuide`, `simulator.spec.guide.SpecGuide`)
    as a model would: `on_choice(step)` gives the piece taken at a choice (None ends the answer where
    the step allows it), `on_free(step)` the piece written at a free step (checked by the guide)."""
    text = ""
    for _ in range(limit):
        step = guide.next(text)
        if step.kind == "stop":
            return text
        if step.kind == "force":
            text += step.text
        elif step.kind == "choose":
            piece = on_choice(step)
            if piece is None:
                assert step.end, f"ended where the guide does not allow it: {text!r}"
                return text
            text += piece
        else:
            piece = on_free(step)
            instead = guide.check(text, piece)
            text += "5" if instead == "" else piece if instead is None else instead
    raise AssertionError(f"the guide never ended: {text!r}")
