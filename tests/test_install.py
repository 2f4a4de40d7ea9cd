#!/usr/bin/env python3
"""cmake --install puts the binary, man pages, completions, the core library,
its headers, a CMake package and a pkg-config file in place, and a program
builds against the installed library both ways and reads a store.
Usage: test_install.py BUILD_DIR"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "testdata", "sample")


def build_cxx_flags():
    """The flags the library was built with (the sanitizer build needs them at link time too)."""
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith("CMAKE_CXX_FLAGS:"):
                return line.split("=", 1)[1].strip()
    return ""


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lstore-install-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        subprocess.run(["cmake", "--install", BUILD, "--prefix", cls.prefix], check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_files_are_in_place(self):
        for rel in ("bin/lstore", "share/man/man1/lstore.1", "share/man/man1/lstore-convert.1",
                    "share/man/man5/lstore-formats.5", "include/lstore/backend.hpp", "include/lstore/store.hpp",
                    "share/bash-completion/completions/lstore", "share/zsh/vendor-completions/_lstore",
                    "share/fish/vendor_completions.d/lstore.fish"):
            self.assertTrue(os.path.exists(os.path.join(self.prefix, rel)), rel)
        libdirs = [d for d in ("lib", "lib64", "lib/x86_64-linux-gnu") if os.path.isdir(os.path.join(self.prefix, d))]
        found = [os.path.join(d, f) for d in libdirs for f in os.listdir(os.path.join(self.prefix, d))]
        self.assertTrue(any(f.endswith("liblstore_core.a") for f in found), found)
        out = subprocess.run([os.path.join(self.prefix, "bin", "lstore"), "ls", SAMPLE], capture_output=True, check=True)
        self.assertIn(b"12 nodes", out.stdout)

    def pkgconfig_path(self):
        return ":".join(os.path.join(self.prefix, d, "pkgconfig") for d in ("lib", "lib64", "lib/x86_64-linux-gnu"))

    def test_pkg_config(self):
        env = dict(os.environ, PKG_CONFIG_PATH=self.pkgconfig_path())
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "lstore"], env=env, capture_output=True,
                               check=True, text=True).stdout.split()
        exe = os.path.join(self.tmp, "smoke-pc")
        subprocess.run(["g++", *build_cxx_flags().split(), os.path.join(ROOT, "tests", "install", "smoke.cpp"), "-o", exe,
                        *flags], check=True)
        self.assertEqual(subprocess.run([exe, SAMPLE], capture_output=True, check=True, text=True).stdout, "12\n")

    def test_cmake_package(self):
        build = os.path.join(self.tmp, "smoke-cmake")
        subprocess.run(["cmake", "-S", os.path.join(ROOT, "tests", "install"), "-B", build,
                        f"-DCMAKE_PREFIX_PATH={self.prefix}", f"-DCMAKE_CXX_FLAGS={build_cxx_flags()}"],
                       check=True, capture_output=True)
        subprocess.run(["cmake", "--build", build], check=True, capture_output=True)
        out = subprocess.run([os.path.join(build, "smoke"), SAMPLE], capture_output=True, check=True, text=True)
        self.assertEqual(out.stdout, "12\n")


class DebTest(unittest.TestCase):
    def test_deb_package(self):
        if not shutil.which("dpkg-deb") or not shutil.which("dpkg-shlibdeps"):
            print("SKIPPED: .deb test (dpkg-deb / dpkg-shlibdeps missing: install dpkg-dev)", file=sys.stderr)
            self.skipTest("no dpkg-dev")
        tmp = tempfile.mkdtemp(prefix="lstore-deb-")
        try:
            subprocess.run(["cpack", "-G", "DEB", "-B", tmp, "--config", os.path.join(BUILD, "CPackConfig.cmake")],
                           check=True, capture_output=True)
            debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
            self.assertEqual(len(debs), 1, os.listdir(tmp))
            deb = os.path.join(tmp, debs[0])
            info = subprocess.run(["dpkg-deb", "--info", deb], capture_output=True, check=True, text=True).stdout
            for lib in ("libsqlite3", "libpq5", "libhiredis", "libzstd"):
                self.assertIn(lib, info)  # runtime dependencies for apt to install
            root = os.path.join(tmp, "root")
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
            out = subprocess.run([os.path.join(root, "usr", "bin", "lstore"), "ls", SAMPLE], capture_output=True,
                                 check=True, text=True).stdout
            self.assertIn("12 nodes", out)
            self.assertTrue(os.path.exists(os.path.join(root, "usr", "share", "man", "man1", "lstore.1")))
            # Installed by dpkg itself (its own database in a temp root, so this
            # machine's is untouched): unpacking and configuring must succeed.
            inst = os.path.join(tmp, "inst")
            os.makedirs(os.path.join(inst, "var", "lib", "dpkg", "updates"))
            for f in ("status", "available"):
                open(os.path.join(inst, "var", "lib", "dpkg", f), "w").close()
            p = subprocess.run(["dpkg", "--root", inst, "--force-depends", "--force-script-chrootless", "--force-not-root",
                                "--log", os.path.join(tmp, "dpkg.log"), "-i", deb], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            status = subprocess.run(["dpkg", "--root", inst, "-s", "lstore"], capture_output=True, text=True).stdout
            self.assertIn("Status: install ok installed", status)
            for rel in ("usr/bin/lstore", "usr/share/man/man5/lstore-formats.5", "usr/share/bash-completion/completions/lstore",
                        "usr/share/zsh/vendor-completions/_lstore", "usr/include/lstore/store.hpp"):
                self.assertTrue(os.path.exists(os.path.join(inst, rel)), rel)
            out = subprocess.run([os.path.join(inst, "usr", "bin", "lstore"), "ls", SAMPLE], capture_output=True,
                                 check=True, text=True).stdout
            self.assertIn("12 nodes", out)
            # A clean Debian 12 can satisfy every dependency from its archive.
            depends = re.search(r"^ Depends: (.*)$", info, re.M).group(1)
            names = [alt.strip().split(" ")[0] for dep in depends.split(",") for alt in dep.split("|")]
            self.assertIn("libc6", names)
            lists = "/var/lib/apt/lists"
            if shutil.which("apt-cache") and os.path.isdir(lists) and any(f.endswith("_Packages") for f in os.listdir(lists)):
                for dep in depends.split(","):
                    alts = [a.strip().split(" ")[0] for a in dep.split("|")]
                    policy = subprocess.run(["apt-cache", "policy", *alts], capture_output=True, text=True).stdout
                    self.assertRegex(policy, r"Candidate: (?!\(none\))", f"no Debian package for {dep.strip()}")
            else:
                print("SKIPPED: the .deb's dependencies against the Debian archive (no apt lists)", file=sys.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    BUILD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
