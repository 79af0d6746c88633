"""og_preview._scan, the compiled twin of scan.py's token pass, built when a C compiler is
there; without one the install goes on and og-preview runs the same pass in Python."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "og_preview._scan",
            ["og_preview/_scan.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
