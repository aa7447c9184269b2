"""How long the API's document limits take to judge hostile documents, in process, and the old walk beside them.

    .venv/bin/python bench/hostile_validation.py            # the current rule
    .venv/bin/python bench/hostile_validation.py --levels 16 20 22 40

For each document: the milliseconds (best of ``--repeat``) the limits rule takes
(graph_api.document_cost, run by graph_api.limits.LimitsFirst before the spec's rules),
its verdict, and for the fragment bomb the time of a walk expanding every spread the way
strawberry's alias counter does (``count_fields_with_alias``), at levels where it ends.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse, validate
from strawberry.extensions.max_aliases import count_fields_with_alias

from graph_api.document_cost import create_limits_rule
from graph_api.schema import build_schema
from graph_api.settings import ApiSettings
from schema import load_schema


def fragment_bomb(levels: int) -> str:
    frags = ["fragment F0 on Query { a: __typename }"]
    frags += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"{{ ...F{levels} }}\n" + "\n".join(frags)


DOCUMENTS: dict[str, str] = {
    "nested neighbours, no first": '{ ci(uid: "x") { neighbours { ci { neighbours { ci { neighbours { ci '
                                   "{ neighbours { otherUid } } } } } } } } }",
    "fifty aliased impacts": "{ " + " ".join(f'i{i}: impact(uids: ["x"]) {{ impacted {{ uid path {{ uid }} }} }}'
                                             for i in range(50)) + " }",
    "default impact with paths (allowed)": '{ impact(uids: ["x"]) { impacted { uid name grade depth explanation '
                                           "path { uid name relType } } services { uid name } owners truncated } }",
}


def best_ms(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[16, 20, 40])
    parser.add_argument("--old-up-to", type=int, default=20, help="Expand spreads (the old walk) up to this level.")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = ApiSettings()
    schema = build_schema(settings, load_schema())._schema
    rule = create_limits_rule(settings.max_depth, settings.max_introspection_depth, settings.max_cost,
                              settings.page_cap, settings.max_fields, settings.max_aliases, settings.max_analyses)
    print(f"# {platform.node()} {platform.python_version()} {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    documents = {f"fragment bomb, {n} levels ({len(fragment_bomb(n))} bytes)": fragment_bomb(n)
                 for n in args.levels}
    documents.update(DOCUMENTS)
    for name, text in documents.items():
        document = parse(text)
        errors = validate(schema, document, [rule])
        ms = best_ms(lambda d=document: validate(schema, d, [rule]), args.repeat)  # type: ignore[misc]
        verdict = errors[0].message[:90] if errors else "allowed"
        print(f"{name:45s} {ms:9.2f} ms  {verdict}")
        levels = next((n for n in args.levels if name.startswith(f"fragment bomb, {n} ")), None)
        if levels is not None and levels <= args.old_up_to:
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            op = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
            old = best_ms(lambda o=op, f=fragments: count_fields_with_alias(o, f), 1)  # type: ignore[misc]
            print(f"{'  (old walk, spreads expanded)':45s} {old:9.2f} ms")


if __name__ == "__main__":
    main()
