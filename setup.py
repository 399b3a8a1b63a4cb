"""Build script: compiles the Cython core unless SSEDELTA_NO_EXTENSIONS is set."""

import glob
import os
import sys

NO_EXTENSIONS = bool(os.environ.get("SSEDELTA_NO_EXTENSIONS"))
if sys.implementation.name != "cpython":
    NO_EXTENSIONS = True
ANNOTATE = bool(os.environ.get("SSEDELTA_CYTHON_ANNOTATE"))
# SSEDELTA_SANITIZE=1 builds the native core with AddressSanitizer and UndefinedBehaviorSanitizer
# (for the fuzz runs; see docs/robustness.md for how to run Python with the sanitizer runtime).
SANITIZE = bool(os.environ.get("SSEDELTA_SANITIZE"))
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"]

HINT = (
    "ssedelta could not compile its native core. Install a C compiler and the Python "
    "headers, or opt in to the slower pure-Python build with SSEDELTA_NO_EXTENSIONS=1."
)


def native_modules(src="src"):
    """(module name, path) of every ``.pyx`` under ``src/ssedelta``, subpackages included:
    ``src/ssedelta/sub/_x_c.pyx`` is ``ssedelta.sub._x_c``."""
    pattern = os.path.join(src, "ssedelta", "**", "*.pyx")
    for path in sorted(glob.glob(pattern, recursive=True)):
        stem = os.path.splitext(os.path.relpath(path, src))[0]
        yield stem.replace(os.sep, "."), path


def main():
    # Imported here, so that the tests can read native_modules() without setuptools installed.
    from setuptools import Extension, setup
    from setuptools.command.build_ext import build_ext

    class BuildExtWithHint(build_ext):
        def run(self):
            try:
                super().run()
            except Exception as exc:
                raise SystemExit(f"{exc}\n\n{HINT}") from exc

        def build_extension(self, ext):
            try:
                super().build_extension(ext)
            except Exception as exc:
                raise SystemExit(f"{exc}\n\n{HINT}") from exc

    if NO_EXTENSIONS:
        print("*********************\n* Pure Python build *\n*********************")
        setup()
        return
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        raise SystemExit(f"Cython is needed to build ssedelta's native core.\n\n{HINT}") from exc
    print("**********************\n* Accelerated build *\n**********************")
    extensions = cythonize(
        [Extension(name, [path]) for name, path in native_modules()],
        compiler_directives={
            "language_level": "3",
            "embedsignature": True,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
        },
        include_path=["src"],
        annotate=ANNOTATE,
        force=bool(os.environ.get("SSEDELTA_CYTHON_FORCE")),
    )
    if SANITIZE:
        print("**************************\n* Sanitized build (ASan) *\n**************************")
        for extension in extensions:
            extension.extra_compile_args = [*extension.extra_compile_args, *SANITIZE_FLAGS]
            extension.extra_link_args = [*extension.extra_link_args, *SANITIZE_FLAGS]
    setup(ext_modules=extensions, cmdclass={"build_ext": BuildExtWithHint})


if __name__ == "__main__":  # also under setuptools.build_meta, which runs this file as __main__
    main()
