"""Writes the texts `make bench-tokenizer` tokenizes: 1 MiB of English prose (the docstrings of
Python's standard library, in a fixed order, so every machine with the same Python gets the same
file), a 1 MiB single word of one letter repeated (the worst case of BPE's merge loop) and a 1 MiB
single word of seeded random letters."""
import importlib
import inspect
import pkgutil
import random
import sys

SIZE = 1 << 20
out_dir = sys.argv[1]

docs, seen, total = [], set(), 0
for module_info in sorted(pkgutil.iter_modules(), key=lambda m: m.name):
    name = module_info.name
    if name.startswith("_") or name in {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo"}:
        continue
    try:
        module = importlib.import_module(name)
    except Exception:
        continue
    if not getattr(module, "__file__", "") or "site-packages" in module.__file__:
        continue
    members = [member for _, member in sorted(inspect.getmembers(module), key=lambda item: item[0])]
    # Classes' methods too: module-level docstrings alone come to about half a megabyte.
    members += [method for member in members if inspect.isclass(member)
                for _, method in sorted(vars(member).items(), key=lambda item: item[0])]
    for member in members:
        doc = inspect.getdoc(member) if not isinstance(member, str) else None
        if doc and len(doc) > 60 and doc not in seen:
            seen.add(doc)
            docs.append(doc)
            total += len(doc.encode()) + 2
    if total > SIZE:
        break
english = "\n\n".join(docs)
while len(english.encode()) < SIZE:  # a Python with fewer modules: the same prose again
    english += "\n\n" + english
english = english.encode()[:SIZE].decode("utf-8", "ignore")
with open(f"{out_dir}/english.txt", "w") as f:
    f.write(english)
with open(f"{out_dir}/word-a.txt", "w") as f:
    f.write("a" * SIZE)
rng = random.Random(7)
with open(f"{out_dir}/word-random.txt", "w") as f:
    f.write("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(SIZE)))
