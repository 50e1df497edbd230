"""``rmslab discover``: the URLs a client will use, and the trace of why (SPEC D-7, D-9,
D-6, D-4, D-3).

    rmslab discover [--reg FILE …] [--ldif FILE] [--mode client|server] [--app-bits 32|64]
                    [--for publish|consume --license FILE] [--no-cloud] [--json]

The ``.reg`` files are imported in order into the machine's registry (later files win);
without any, the registry holds no RMS settings — a machine as the client's installer
leaves it, the usual case — and discovery goes on to the SCP and then the cloud service
(D-7). The LDIF export is the directory of the forest the machine is joined to (without
it, the machine is not in a domain); ``--no-cloud`` says the user's organisation has no
cloud service, so that on-premises discovery is all there is. Windows is 64-bit. The JSON output holds at least
``certification_url``, ``licensing_url`` (after any licensing redirection), ``source``
(``registry``, ``scp``, ``license`` or ``cloud``) and ``trace`` (the steps, in order).

Exit status: 0 when a server was found; 4 when discovery failed (the reason on stderr);
2 for input that cannot be read (raised as :class:`~rmslab.errors.InputError`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from rmslab.discovery.directory import Directory
from rmslab.discovery.discover import discover
from rmslab.discovery.services import AZURE_RMS
from rmslab.discovery.machine import Machine
from rmslab.discovery.registry import Registry
from rmslab.errors import InputError
from rmslab.xrml.reader import read_file

__all__ = ["add_discover_parser", "run_discover", "EXIT_DISCOVERY_FAILED"]

EXIT_OK, EXIT_DISCOVERY_FAILED = 0, 4


def run_discover(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``rmslab discover`` for parsed arguments; returns the exit status."""
    purpose = args.purpose
    if purpose == "consume" and not args.license:
        raise InputError("--for consume needs --license FILE (the content's publishing "
                         "license: the server it names comes first)")
    if purpose == "publish" and args.license:
        raise InputError("--license goes with --for consume")
    registry = Registry.from_reg_files(*args.reg)
    directory = Directory.from_ldif_file(args.ldif) if args.ldif else None
    machine = Machine("client", registry, directory, args.mode, args.app_bits, 64)
    license = read_file(args.license) if args.license else None
    result = discover(machine, purpose=purpose, license=license,
                      cloud=None if args.no_cloud else AZURE_RMS)
    if args.json:
        data: dict[str, Any] = result.to_json()
        json.dump(data, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(result.to_text() + "\n")
    if result.error is not None:
        sys.stderr.write(f"rmslab: {result.error}\n")
        return EXIT_DISCOVERY_FAILED
    return EXIT_OK


def add_discover_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``discover`` on the ``rmslab`` command's subparsers."""
    from rmslab.cli.common import examples
    p: argparse.ArgumentParser = subparsers.add_parser(
        "discover", help="which RMS servers a client uses (registry, SCP, license, cloud), "
                         "and the trace of why",
        description="Service discovery as the RMS client does it (D-7): the registry, then "
                    "the service connection point in Active Directory, then the cloud "
                    "service; when consuming, the server the content's license names first, "
                    "with licensing redirection (D-9) and the trusted-servers restriction "
                    "(D-6). Prints the URLs found and every step. Exit status 4 when "
                    "discovery fails.",
        **examples(("rmslab discover", "a machine with no RMS settings: SCP, then the cloud"),
                   ("rmslab discover --no-cloud",
                    "fails with status 4: nothing names an on-premises server"),
                   ("rmslab discover --reg lab/clients/BOB-PC/registry.reg",
                    "the servers a lab client publishes with"),
                   ("rmslab discover --reg data/registry/ws-fresh-client.reg "
                    "--ldif data/directory/contoso-forest-scp.ldf",
                    "a fresh client in a forest with an SCP"),
                   ("rmslab discover --reg data/registry/fabrikam-merger-licensing-redirection"
                    ".reg --ldif data/directory/fabrikam-forest-scp.ldf --for consume "
                    "--license data/licenses/contoso-old-cluster-document.xml --json",
                    "opening an old document after a merger: licensing redirection, as JSON")))
    p.add_argument("--reg", action="append", default=[], metavar="FILE",
                   help=".reg file to import into the client's registry (repeatable; in "
                        "order, later files win); without it the registry holds no RMS "
                        "settings")
    p.add_argument("--ldif", metavar="FILE",
                   help="LDIF export (ldifde) of the forest's directory: the SCP is looked up "
                        "there; without it the client is not joined to a domain")
    p.add_argument("--mode", choices=("client", "server"), default="client",
                   help="client mode (desktop applications) or server mode (services)")
    p.add_argument("--app-bits", type=int, choices=(32, 64), default=64,
                   help="32 for a 32-bit application on 64-bit Windows (reads Wow6432Node)")
    p.add_argument("--for", dest="purpose", choices=("publish", "consume"), default="publish",
                   help="protect new content (publish) or open protected content (consume)")
    p.add_argument("--license", metavar="FILE",
                   help="the content's publishing license (XrML or protected file), with "
                        "--for consume")
    p.add_argument("--no-cloud", action="store_true",
                   help="the user's organisation has no cloud (Azure RMS) service: when the "
                        "registry and the SCP name no server, discovery fails")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run_discover)
    return p
