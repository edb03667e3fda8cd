#!/usr/bin/env python3
"""Make TorchSharp's libLibTorchSharp.so load where the system libstdc++ predates GLIBCXX_3.4.32.

libLibTorchSharp.so needs exactly one symbol of GLIBCXX_3.4.32: std::ios_base_library_init().
For every libLibTorchSharp.so under the given folder this script
  1. marks the GLIBCXX_3.4.32 version requirement weak (VER_FLG_WEAK in .gnu.version_r),
  2. clears that symbol's version (its .gnu.version entry becomes 1, global),
  3. adds a tiny shim library defining the symbol as the first DT_NEEDED entry.
The shim's name is stored by shortening the RUNPATH string in place to its first entry ($ORIGIN/,
the only one that exists outside TorchSharp's build machine), so the file keeps its size and layout.

It does nothing where the system libstdc++ already provides GLIBCXX_3.4.32 (unless --always is given: for
folders that go to other machines), and nothing to a file it has already patched.
Usage: patch_libtorchsharp.py [--always] SHIM_SOURCE FOLDER...
"""
import os
import struct
import subprocess
import sys

VERSION = b"GLIBCXX_3.4.32"
SYMBOL = b"_ZSt21ios_base_library_initv"
SHIM = "libvditlens_cxxshim.so"
DT_NULL, DT_NEEDED, DT_RUNPATH = 0, 1, 29
SHT_DYNAMIC, SHT_DYNSYM, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 6, 11, 0x6FFFFFFE, 0x6FFFFFFF
VER_FLG_WEAK = 0x2


def system_libstdcxx_has_version():
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    except OSError:
        out = ""
    paths = [line.split("=>")[-1].strip() for line in out.splitlines() if "libstdc++.so.6 " in line]
    paths += ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6"]
    for path in paths:
        if os.path.exists(path):
            with open(path, "rb") as f:
                return VERSION in f.read()
    return True  # no libstdc++ found: nothing we can usefully patch against


def cstr(data, off):
    return data[off:data.index(b"\0", off)]


class Elf:
    def __init__(self, data):
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise ValueError("not a little-endian ELF64 file")
        self.data = data
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        self.sections = []
        for i in range(shnum):
            name, typ, flags, addr, off, size, link, info, align, entsize = struct.unpack_from(
                "<IIQQQQIIQQ", data, shoff + i * shentsize)
            self.sections.append(dict(type=typ, offset=off, size=size, link=link, info=info, entsize=entsize))

    def section(self, typ):
        found = [s for s in self.sections if s["type"] == typ]
        if not found:
            raise ValueError(f"no section of type {typ:#x}")
        return found[0]


def patch(path, shim_source):
    data = bytearray(open(path, "rb").read())
    elf = Elf(data)
    dynamic = elf.section(SHT_DYNAMIC)
    dynstr = elf.sections[dynamic["link"]]["offset"]
    entries = [struct.unpack_from("<qQ", data, dynamic["offset"] + 16 * i) for i in range(dynamic["size"] // 16)]
    needed = [cstr(data, dynstr + v).decode() for t, v in entries if t == DT_NEEDED]
    if SHIM in needed:
        return "already patched"

    verneed = elf.section(SHT_GNU_VERNEED)
    vn_str = elf.sections[verneed["link"]]["offset"]
    off, weakened, version_index = verneed["offset"], False, None
    for _ in range(verneed["info"]):
        vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, off)
        aux = off + vn_aux
        for _ in range(vn_cnt):
            vna_hash, vna_flags, vna_other, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
            if cstr(data, vn_str + vna_name) == VERSION:
                struct.pack_into("<H", data, aux + 4, vna_flags | VER_FLG_WEAK)
                weakened, version_index = True, vna_other
            aux += vna_next
        off += vn_next
    if not weakened:
        return "does not require " + VERSION.decode()

    dynsym, versym = elf.section(SHT_DYNSYM), elf.section(SHT_GNU_VERSYM)
    sym_str = elf.sections[dynsym["link"]]["offset"]
    for i in range(dynsym["size"] // 24):
        st_name, = struct.unpack_from("<I", data, dynsym["offset"] + 24 * i)
        slot = versym["offset"] + 2 * i
        if cstr(data, sym_str + st_name) == SYMBOL:
            struct.pack_into("<H", data, slot, 1)
        elif struct.unpack_from("<H", data, slot)[0] & 0x7FFF == version_index:
            raise ValueError(f"another symbol also needs {VERSION.decode()}; the shim would not cover it")

    used = next(i for i, (t, _) in enumerate(entries) if t == DT_NULL)
    if used + 1 >= len(entries):
        raise ValueError("no spare slot in .dynamic for another DT_NEEDED entry")
    runpath = [i for i, (t, _) in enumerate(entries) if t == DT_RUNPATH]
    if not runpath:
        raise ValueError("no DT_RUNPATH entry to hold the shim's name")
    rp_off = dynstr + entries[runpath[0]][1]
    old = cstr(data, rp_off)
    first = old.split(b":")[0]
    new = first + b"\0" + SHIM.encode() + b"\0"
    if first != b"$ORIGIN/" or len(new) > len(old) + 1:
        raise ValueError(f"unexpected RUNPATH {old!r}")
    data[rp_off:rp_off + len(new)] = new
    shim_name_offset = entries[runpath[0]][1] + len(first) + 1
    entries = [(DT_NEEDED, shim_name_offset)] + entries[:-1]
    for i, (t, v) in enumerate(entries):
        struct.pack_into("<qQ", data, dynamic["offset"] + 16 * i, t, v)

    shim_path = os.path.join(os.path.dirname(path), SHIM)
    subprocess.run(["g++", "-shared", "-fPIC", "-O2", "-o", shim_path, shim_source], check=True)
    tmp = path + ".patching"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, os.stat(path).st_mode)
    os.replace(tmp, path)
    return "patched"


def main():
    args = sys.argv[1:]
    always = "--always" in args
    shim_source, *folders = [a for a in args if a != "--always"]
    if not always and system_libstdcxx_has_version():
        return
    seen = set()
    for folder in folders:
        for root, _, files in os.walk(folder):
            path = os.path.realpath(os.path.join(root, "libLibTorchSharp.so"))
            if "libLibTorchSharp.so" not in files or path in seen:
                continue
            seen.add(path)
            print(f"libLibTorchSharp.so: {patch(path, shim_source)}: {path}")


if __name__ == "__main__":
    main()
