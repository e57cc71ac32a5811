"""``llama-cpp:/path/to/model.gguf``: a GGUF model run in this process by llama-cpp-python.

Install it with ``pip install -e '.[llm]'``. The model loads once, when the generator is made
(a missing file or package is a ValueError then, not at the first question); its context window
is ``GeneratorSettings.context_tokens`` and prompts are counted with its own tokenizer. One model
object is not safe to share between threads, so answers take turns. The chat template is the one
stored in the GGUF. Out of scope: GPU offload settings, LoRA, grammars.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from . import GenerationError, GeneratorSettings, Message


class LlamaCpp:
    def __init__(self, target: str, settings: GeneratorSettings):
        path = Path(target).expanduser()
        if not path.is_file():
            raise ValueError(f"llama-cpp generator: no model file at {target!r}; give the path of a .gguf file")
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise ValueError("the llama-cpp generator needs llama-cpp-python: pip install -e '.[llm]'") from e
        threads = max(1, min(4, os.cpu_count() or 1))
        try:
            self._llm = Llama(model_path=str(path), n_ctx=settings.context_tokens, n_threads=threads,
                              verbose=False)
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"llama-cpp generator: cannot load {target!r} ({e})") from e
        self.name = f"llama-cpp:{path}"
        self.settings = settings
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        deadline = time.monotonic() + self.settings.timeout
        with self._lock:
            try:
                chunks = self._llm.create_chat_completion(messages=messages, stream=True, max_tokens=max_tokens,
                                                          temperature=self.settings.temperature)
                for chunk in chunks:
                    if piece := chunk["choices"][0]["delta"].get("content"):
                        yield piece
                    if time.monotonic() > deadline:  # checked between tokens: one token is not interrupted
                        raise GenerationError(f"the local model did not finish within {self.settings.timeout:g} s")
            except GenerationError:
                raise
            except ValueError as e:  # llama-cpp-python: "Requested tokens (...) exceed context window of ..."
                raise GenerationError(f"the local model failed: {e}") from e
            except RuntimeError as e:
                raise GenerationError(f"the local model failed: {e}") from e
