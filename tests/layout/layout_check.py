#!/usr/bin/env python3
"""Checks the source tree against the layout rules of SPEC 2 and issue 10.

  1. No source file (*.cc, *.h) over 500 lines, anywhere.
  2. No function over 80 lines in a *.cc of vault/ or api/ (signature to
     closing brace; lambdas count as part of the function that holds them).
  3. Dependencies point one way: a file in folder X includes "Y/..." only if Y
     is X or one of X's allowed dependencies (ALLOWED below). tests/, bench/,
     fuzz/ and ops/ are exempt.
  4. No folder includes another folder's internal/ headers (tests/, bench/ and
     fuzz/, white-box by design, are exempt).
  5. No library header (Pistache, OpenSSL, sqlite3, Connector/C++, nlohmann,
     spdlog, p11-kit/PKCS#11) in a public header (top-level *.h, not
     internal/) of kms/, store/ or vault/.

Usage: layout_check.py [SOURCE_DIR]   (default: the repository holding this
script). Prints one "file:line: rule: message" line per violation and exits 1
if there is any. Before scanning it checks itself on a small tree with one
violation of each rule, so a checker that silently finds nothing fails too.
"""

import os
import re
import sys
import tempfile

MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80
FUNCTION_LENGTH_FOLDERS = ("vault", "api")
PUBLIC_HEADER_FOLDERS = ("kms", "store", "vault")

# SPEC 2: app -> api -> vault -> model, kms, store, audit; store -> model;
# base below all; config used by app. Each folder may include itself and
# these. The faces (api/) reach storage and keys only through the use cases.
ALLOWED = {
    "base": set(),
    "model": {"base"},
    "kms": {"base"},
    "store": {"base", "model"},
    "audit": {"base", "model"},
    "config": {"base"},
    "vault": {"base", "model", "kms", "store", "audit"},
    "api": {"base", "model", "vault"},
    "app": {"base", "model", "kms", "store", "audit", "config", "vault", "api"},
}
EXEMPT_FROM_DEPENDENCIES = ("tests", "bench", "fuzz", "ops")
EXEMPT_FROM_INTERNAL = ("tests", "bench", "fuzz")

BANNED_IN_PUBLIC_HEADERS = re.compile(
    r"^(pistache/|openssl/|sqlite3(ext)?\.h$|cppconn/|mysqlx?/|mysql_|mysql\.h$|"
    r"nlohmann/|(.*/)?json(_fwd)?\.hpp$|spdlog/|p11-kit/|(.*/)?pkcs11[a-z]?\.h$)")

# Known exceptions: (rule, relative path). Each needs a comment saying why.
KNOWN_EXCEPTIONS = set()

SKIP_DIRS = {".git", "node_modules", "generated", "__pycache__"}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
SCOPE_KEYWORD_RE = re.compile(r"\b(namespace|class|struct|union|enum)\b")


def source_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and not d.startswith("build") and not d.startswith("."))
        if rel_dir == ".":
            rel_dir = ""
        for name in sorted(filenames):
            if name.endswith((".cc", ".h")):
                yield os.path.join(rel_dir, name)


def blank_literal(text, i, out):
    """Appends the string or character literal opening at text[i] with its
    contents blanked; returns the index just past it (or its line's end)."""
    quote, j, n = text[i], i + 1, len(text)
    while j < n and text[j] != quote and text[j] != "\n":
        j += 2 if text[j] == "\\" else 1
    closed = j < n and text[j] == quote
    out.append(quote + " " * (min(j, n) - i - 1) + (quote if closed else ""))
    return j + 1 if closed else j


def strip_code(text):
    """Blanks comments, string and character literals and preprocessor lines,
    keeping every newline, so braces are counted only where they are code."""
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            out.append(c)
            at_line_start = True
            i += 1
            continue
        if at_line_start and c == "#":
            while i < n and text[i] != "\n":  # directive, with continuations
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append("\n")
                    i += 2
                    continue
                i += 1
            continue
        if not c.isspace():
            at_line_start = False
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
            continue
        if c == '"':
            token = re.search(r"[A-Za-z0-9_]*$", text[max(0, i - 4):i]).group(0)
            if token.endswith("R") and token in ("R", "u8R", "uR", "UR", "LR"):
                m = re.match(r'"([^ ()\\\t\n]{0,16})\(', text[i:])
                if m:
                    close = ")" + m.group(1) + '"'
                    end = text.find(close, i + m.end())
                    end = n if end < 0 else end + len(close)
                    out.append('"' + re.sub(r"[^\n]", " ", text[i + 1:end - 1]) + '"')
                    i = end
                    continue
            i = blank_literal(text, i, out)
            continue
        if c == "'":
            token = re.search(r"[A-Za-z0-9_.]*$", text[max(0, i - 64):i]).group(0)
            if token[:1].isdigit():  # digit separator: 1'000'000
                out.append(c)
                i += 1
                continue
            i = blank_literal(text, i, out)
            continue
        out.append(c)
        i += 1
    return "".join(out)


def head_is_function(head):
    """Whether the code before a '{' at namespace or class scope declares a
    function (rather than a namespace, class, enum or an initializer)."""
    head = re.sub(r"\b(public|private|protected)\s*:", " ", head).strip()
    if not head:
        return False
    m = SCOPE_KEYWORD_RE.search(head)
    if m and "(" not in head[:m.start()]:
        return False
    if head.startswith("extern"):
        return False
    without_operators = re.sub(r"\boperator\s*[^\s(]+", "operator", head)
    depth = 0
    for ch in without_operators:  # '=' outside parentheses: an initializer
        if ch in "([<":
            depth += 1
        elif ch in ")]>":
            depth = max(0, depth - 1)
        elif ch == "=" and depth == 0:
            return False
    return ")" in head


def functions(text):
    """Yields (name, first_line, last_line) of every function body at
    namespace or class scope."""
    code = strip_code(text)
    line_of = [0] * (len(code) + 1)
    line = 1
    for idx, ch in enumerate(code):
        line_of[idx] = line
        if ch == "\n":
            line += 1
    line_of[len(code)] = line
    head_start = 0
    i, n = 0, len(code)
    while i < n:
        ch = code[i]
        if ch in ";}":
            head_start = i + 1
        elif ch == "{":
            head = code[head_start:i]
            if head_is_function(head) or not SCOPE_KEYWORD_RE.search(head) and \
                    not head.strip().startswith("extern"):
                # A function body or an initializer: skip to its matching brace.
                depth, j = 1, i + 1
                while j < n and depth:
                    if code[j] == "{":
                        depth += 1
                    elif code[j] == "}":
                        depth -= 1
                    j += 1
                if head_is_function(head):
                    first = head_start + len(head) - len(head.lstrip())
                    name = re.findall(r"([~A-Za-z_][A-Za-z0-9_:~]*)\s*\(", head)
                    yield (name[0] if name else "?", line_of[first], line_of[j - 1])
                i = j
                head_start = j
                continue
            head_start = i + 1  # into a namespace, class or enum
        i += 1


def check_tree(root):
    violations = []

    def report(rule, path, line, message):
        if (rule, path) not in KNOWN_EXCEPTIONS:
            violations.append(f"{path}:{line}: {rule}: {message}")

    for path in source_files(root):
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        parts = path.split(os.sep)
        folder = parts[0] if len(parts) > 1 else ""

        if len(lines) > MAX_FILE_LINES:
            report("file-length", path, len(lines),
                   f"{len(lines)} lines (at most {MAX_FILE_LINES})")

        if folder in FUNCTION_LENGTH_FOLDERS and path.endswith(".cc"):
            for name, first, last in functions(text):
                length = last - first + 1
                if length > MAX_FUNCTION_LINES:
                    report("function-length", path, first,
                           f"{name} is {length} lines (at most {MAX_FUNCTION_LINES})")

        in_block_comment = False
        for number, raw in enumerate(lines, 1):
            if in_block_comment:
                if "*/" in raw:
                    in_block_comment = False
                continue
            if raw.lstrip().startswith("/*") and "*/" not in raw:
                in_block_comment = True
                continue
            m = INCLUDE_RE.match(raw)
            if not m:
                continue
            included = m.group(2)
            target = included.split("/")[0] if "/" in included else ""
            if m.group(1) == '"' and target in ALLOWED and folder in ALLOWED:
                if target != folder and target not in ALLOWED[folder]:
                    report("include-direction", path, number,
                           f'{folder}/ may not include "{included}" ({folder} -> {target} '
                           f"points the wrong way; allowed: "
                           f"{', '.join(sorted(ALLOWED[folder])) or 'nothing'})")
            if (m.group(1) == '"' and len(included.split("/")) > 2
                    and included.split("/")[1] == "internal" and target != folder
                    and folder not in EXEMPT_FROM_INTERNAL):
                report("internal-include", path, number,
                       f'includes another folder\'s internal header "{included}"')
            if (folder in PUBLIC_HEADER_FOLDERS and len(parts) == 2 and path.endswith(".h")
                    and BANNED_IN_PUBLIC_HEADERS.match(included)):
                report("public-header", path, number,
                       f"public header includes library header <{included}>; forward "
                       f"declare it or move the code to internal/")
    return violations


SELF_TEST_TREE = {
    "base/long.h": "// x\n" * (MAX_FILE_LINES + 1),
    "vault/long_function.cc": (
        "namespace v {\nnamespace {\nconst char* kBrace = \"}\";  // }\n}  // namespace\n"
        "int Long() {\n  auto f = [] {\n    return '}';\n  };\n" + "  f();\n" * 80 +
        "  return 1'000;\n}\nint Short() { return R\"x({)x\"[0]; }\n}  // namespace v\n"),
    "api/ok.cc": ("namespace a {\nclass C {\n public:\n  int F() const {\n" +
                  "    return 0;\n" * 70 + "  }\n};\n}  // namespace a\n"),
    "store/upward.cc": '#include "vault/vault.h"\n',
    "api/reach_down.cc": '#include "store/credential_store.h"\n',
    "vault/peek.cc": '#include "kms/internal/aead.h"\n',
    "kms/key_manager.h": "#pragma once\n#include <openssl/evp.h>\n",
    "kms/internal/fine.h": "#pragma once\n#include <openssl/evp.h>\n",
    "tests/vault/t.cc": '#include "app/x.h"\n#include "kms/internal/aead.h"\n',
}
SELF_TEST_EXPECTED = {
    "base/long.h:501: file-length",
    "vault/long_function.cc:5: function-length",
    "store/upward.cc:1: include-direction",
    "api/reach_down.cc:1: include-direction",
    "vault/peek.cc:1: internal-include",
    "kms/key_manager.h:2: public-header",
}


def self_test():
    with tempfile.TemporaryDirectory() as root:
        for path, content in SELF_TEST_TREE.items():
            os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(root, path), "w", encoding="utf-8") as f:
                f.write(content)
        found = {":".join(v.split(":")[:3]) for v in check_tree(root)}
    if found != SELF_TEST_EXPECTED:
        print("layout_check self-test failed:", file=sys.stderr)
        for missing in sorted(SELF_TEST_EXPECTED - found):
            print(f"  not found: {missing}", file=sys.stderr)
        for extra in sorted(found - SELF_TEST_EXPECTED):
            print(f"  unexpected: {extra}", file=sys.stderr)
        return False
    return True


def main():
    default_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    root = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else default_root
    if not self_test():
        return 1
    violations = check_tree(root)
    for v in violations:
        print(v)
    if violations:
        print(f"{len(violations)} layout violation(s) in {root}", file=sys.stderr)
        return 1
    print(f"layout ok: {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
