"""Revocation at scale (issue 5): a list with 100,000 entries, and the cost of the
revocation check per binding at 1,000 and 100,000 entries.

Prints, in one run:

* loading and verifying the list (read the bytes, find the document, check digest and
  signature) next to its floor measured in the same run: one lxml parse of the text, one
  SHA-256 of the BODY in UTF-16LE, one raw RSA verification — and the ratio;
* building the lookup index once (hash sets per entry type), reported apart;
* the per-binding check (every entity of a binding looked up) at 1k and 100k entries,
  which should not grow with the list.

Usage: python bench/revocation_scale.py
"""

from __future__ import annotations

import statistics
import time

from lxml import etree


def best(fn, rounds: int = 7) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> None:
    from cryptography.hazmat.primitives.asymmetric import padding

    from rmslab.crypto.rsa import surface_digest
    from rmslab.deployment import standard_deployment
    from rmslab.flows.revocation import involved_revocation, issue_cluster_list
    from rmslab.lab import Lab
    from rmslab.revocation import RevocationIndex, Revoke
    from rmslab.xrml import parse, read_chain
    from rmslab.xrml.verify import verify_document

    deployment = standard_deployment(Lab())
    cluster = deployment.clusters["contoso-licensing"]
    user_chain = parse(deployment.clients["ALICE-PC"].account("alice").clc_text or "")
    user_key = deployment.clients["ALICE-PC"].account_key("alice").public
    print(f"{'entries':>8} {'MB':>5} {'load+verify':>12} {'floor':>9} {'ratio':>6} "
          f"{'index once':>11} {'check/binding':>14}")
    for size in (1_000, 100_000):
        lab = deployment.lab
        entries = []
        for i in range(size):
            kind = ("content-id", "license-id", "principal-id")[i % 3]
            category = ("content", "license", "user")[i % 3]
            value = (f"user{i}@contoso.example" if kind == "principal-id"
                     else "{" + f"{i:08x}-0000-4000-8000-{i:012x}" + "}")
            entries.append(Revoke(category, kind, value))
        text = issue_cluster_list(cluster, cluster.revocation_url, entries)
        data = text.encode("utf-8")

        def load_and_verify() -> None:
            document = read_chain(data)[0]
            verify_document(document)

        document = read_chain(data)[0]
        key = document.issuer_key._key()  # type: ignore[union-attr]
        signature = document.signature.value  # type: ignore[union-attr]
        body = document.body_text
        algorithm = document.digest_algorithm
        assert algorithm is not None and signature is not None

        def floor() -> None:
            etree.fromstring(data)
            digest = surface_digest(body, algorithm)
            key.verify(signature, digest, padding.PKCS1v15(), algorithm._prehashed())

        rmslab_time, floor_time = best(load_and_verify), best(floor)
        index_time = best(lambda: RevocationIndex(document), rounds=3)
        index = RevocationIndex(document)

        def check() -> None:
            for _ in range(100):
                involved_revocation(index, chains=[user_chain], content_id="{unrelated}",
                                    user_names=["alice@contoso.example", "alice"],
                                    user_keys=[user_key], application="Word",
                                    machine="ALICE-PC")

        per_check = best(check) / 100
        print(f"{size:>8} {len(data) / 1e6:>5.1f} {rmslab_time * 1e3:>10.1f}ms "
              f"{floor_time * 1e3:>7.1f}ms {rmslab_time / floor_time:>6.2f} "
              f"{index_time * 1e3:>9.1f}ms {per_check * 1e6:>12.1f}µs")


if __name__ == "__main__":
    main()
