"""The ctypes structures of python/qsdc/_capi.py against include/qsdc.h as the
C compiler lays them out: every size and every field's offset."""
import ctypes
import os
import subprocess

from qsdc import _capi


def test_structures_match_the_header(tmp_path):
    root = os.environ.get("QSDC_SOURCE_ROOT",
                          os.path.join(os.path.dirname(__file__), "..", ".."))
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "qsdc.h"',
             'int main(void)', '{']
    for name, cls in _capi.STRUCTS.items():
        lines.append('    printf("%s %%zu\\n", sizeof(%s));' % (name, name))
        for field, _ in cls._fields_:
            lines.append('    printf("%s.%s %%zu\\n", offsetof(%s, %s));'
                         % (name, field, name, field))
    lines += ['    return 0;', '}']
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    subprocess.run([os.environ.get("CC", "cc"), "-I", os.path.join(root, "include"),
                    str(src), "-o", str(exe)], check=True)
    c = dict(line.split() for line in subprocess.run(
        [str(exe)], capture_output=True, text=True, check=True).stdout.splitlines())
    for name, cls in _capi.STRUCTS.items():
        assert int(c[name]) == ctypes.sizeof(cls), name
        for field, _ in cls._fields_:
            assert int(c["%s.%s" % (name, field)]) == getattr(cls, field).offset, (name, field)
