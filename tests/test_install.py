#!/usr/bin/env python3
"""cmake --install puts the binary, man pages, completions, the core library,
its headers, a CMake package and a pkg-config file in place, and a program
builds against the installed library both ways and reads a store.
Usage: test_install.py BUILD_DIR"""
import gzip
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
        for rel in ("bin/lstore", "share/man/man1/lstore.1.gz", "share/man/man1/lstore-convert.1.gz",
                    "share/man/man5/lstore-formats.5.gz", "share/man/man5/lstore-json.5.gz", "share/doc/lstore/copyright", "share/doc/liblstore-dev/copyright", "include/lstore/backend.hpp", "include/lstore/store.hpp",
                    "share/bash-completion/completions/lstore", "share/zsh/vendor-completions/_lstore",
                    "share/fish/vendor_completions.d/lstore.fish"):
            self.assertTrue(os.path.exists(os.path.join(self.prefix, rel)), rel)
        libdirs = [d for d in ("lib", "lib64", "lib/x86_64-linux-gnu") if os.path.isdir(os.path.join(self.prefix, d))]
        found = [os.path.join(d, f) for d in libdirs for f in os.listdir(os.path.join(self.prefix, d))]
        self.assertTrue(any(f.endswith("liblstore_core.a") for f in found), found)
        out = subprocess.run([os.path.join(self.prefix, "bin", "lstore"), "ls", SAMPLE], capture_output=True, check=True)
        self.assertIn(b"12 nodes", out.stdout)

    def test_api_only_and_one_version(self):
        # Internals (src/core, src/ops headers) are not installed as API.
        headers = set(os.listdir(os.path.join(self.prefix, "include", "lstore")))
        for internal in ("fileio.hpp", "outline.hpp", "sniff.hpp", "utf8.hpp", "hash.hpp", "diagnose.hpp"):
            self.assertNotIn(internal, headers)
        self.assertIn("version.hpp", headers)
        # The version is written once (project()): the binary, the header and every man page say it.
        version = subprocess.run([os.path.join(self.prefix, "bin", "lstore"), "--version"], capture_output=True,
                                 check=True, text=True).stdout.split()[1]
        with open(os.path.join(self.prefix, "include", "lstore", "version.hpp"), encoding="utf-8") as f:
            self.assertIn(f'"{version}"', f.read())
        for sec in ("man1", "man5"):
            for page in os.listdir(os.path.join(self.prefix, "share", "man", sec)):
                with gzip.open(os.path.join(self.prefix, "share", "man", sec, page), "rt", encoding="utf-8") as f:
                    self.assertIn(f'"lstore {version}"', f.readline(), page)

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
            # As a packager builds them: with their own Maintainer address.
            subprocess.run(["cpack", "-G", "DEB", "-B", tmp, "--config", os.path.join(BUILD, "CPackConfig.cmake"),
                            "-D", "CPACK_PACKAGE_CONTACT=A Packager <packager@example.org>"],
                           check=True, capture_output=True)
            debs = sorted(f for f in os.listdir(tmp) if f.endswith(".deb"))
            self.assertEqual([d.split("_")[0] for d in debs], ["liblstore-dev", "lstore"], os.listdir(tmp))
            dev, deb = (os.path.join(tmp, d) for d in debs)
            info = subprocess.run(["dpkg-deb", "--info", deb], capture_output=True, check=True, text=True).stdout
            for lib in ("libsqlite3", "libpq5", "libhiredis", "libzstd"):
                self.assertIn(lib, info)  # runtime dependencies for apt to install
            root = os.path.join(tmp, "root")
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
            out = subprocess.run([os.path.join(root, "usr", "bin", "lstore"), "ls", SAMPLE], capture_output=True,
                                 check=True, text=True).stdout
            self.assertIn("12 nodes", out)
            # The tool package: stripped binary, gzipped man pages, no headers.
            files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, check=True, text=True).stdout
            self.assertIn("./usr/share/man/man1/lstore.1.gz", files)
            self.assertIn("./usr/share/doc/lstore/copyright", files)
            self.assertNotIn("/usr/include/", files)
            sections = subprocess.run(["readelf", "-S", os.path.join(root, "usr", "bin", "lstore")], capture_output=True,
                                      check=True, text=True).stdout
            self.assertNotIn(".debug_info", sections)
            self.assertNotIn(".symtab", sections)
            # The library package: headers, a static library without debug
            # sections in the multiarch directory, CMake and pkg-config files.
            devroot = os.path.join(tmp, "devroot")
            subprocess.run(["dpkg-deb", "-x", dev, devroot], check=True)
            devfiles = subprocess.run(["dpkg-deb", "-c", dev], capture_output=True, check=True, text=True).stdout
            for rel in ("./usr/include/lstore/store.hpp", "/lstoreConfig.cmake", "/pkgconfig/lstore.pc",
                        "./usr/share/doc/liblstore-dev/copyright"):
                self.assertIn(rel, devfiles)
            self.assertNotIn("/usr/bin/", devfiles)
            archive = [os.path.join(d, f) for d, _, fs in os.walk(devroot) for f in fs if f == "liblstore_core.a"]
            self.assertEqual(len(archive), 1, devfiles)
            self.assertRegex(archive[0], r"/usr/lib/[a-z0-9_]+-linux-gnu[a-z]*/liblstore_core\.a$")
            sections = subprocess.run(["readelf", "-S", archive[0]], capture_output=True, check=True, text=True).stdout
            self.assertNotIn(".debug_info", sections)
            self.assertIn("libfmt-dev", subprocess.run(["dpkg-deb", "-f", dev, "Depends"], capture_output=True,
                                                       check=True, text=True).stdout)
            # Debian's own checker finds no error in either package.
            if shutil.which("lintian"):
                p = subprocess.run(["lintian", "--tag-display-limit", "0", dev, deb], capture_output=True, text=True)
                errors = [line for line in p.stdout.splitlines() if line.startswith("E:")]
                self.assertEqual(errors, [], p.stdout)
            else:
                print("SKIPPED: lintian on the .deb packages (lintian missing: .ci/install installs it)", file=sys.stderr)
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
            for rel in ("usr/bin/lstore", "usr/share/man/man5/lstore-formats.5.gz", "usr/share/bash-completion/completions/lstore",
                        "usr/share/zsh/vendor-completions/_lstore"):
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
