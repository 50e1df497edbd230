"""The rules rmslab enforces, by ID, each in one sentence: the table the package needs
at run time (the appendix of the audit's HTML report restates the rules a report cites).

docs/rules.md is the catalogue people read — each rule's sentence, what it means, where
it comes from (the topic of the product documentation, the MS-RMPR section) and which
modules implement it. The sentence here is the bold first line of the rule's entry there,
word for word, and tests/docs/test_rules.py fails when the two differ (printing the line to
copy), when an ID is in one and not the other, or when an ID cited anywhere in the
repository has no entry. Audit finding IDs (RMS-001…) are in :mod:`rmslab.audit.findings`.
"""

from __future__ import annotations

import re

__all__ = ["RULES", "RULE_ID", "rule_anchor"]

#: A rule ID as the code, messages and notebooks write it: a topic letter and a number
#: (``P-4``), never part of a longer token (``S-1-5-20`` is a SID, ``SHA-1`` an algorithm).
RULE_ID = re.compile(r"(?<![\w-])[A-Z]-\d+(?![\w-])")

#: Every rule: its ID → what it requires, in one sentence.
RULES: dict[str, str] = {
    "E-1": (
        "Enrolling a server gives its cluster a server licensor certificate (SLC), which "
        "vouches for the identity of the cluster's servers wherever protected content is "
        "used."),
    "E-2": (
        "Only the first server of a cluster enrolls, with the root certification cluster "
        "for a licensing cluster; servers that join later share the cluster's SLC and key"
        " without enrolling."),
    "E-3": (
        "The root certification server enrolls with the enrollment service online, or "
        "offline by exporting a request file, submitting it from a connected computer and"
        " importing the response."),
    "E-4": (
        "An enrollment request carries the revocation arrangement, the SLC public key "
        "generated on the server, the product SKU, the version and the cluster's base "
        "URL."),
    "E-5": (
        "The enrollment response is XML holding the new SLC followed by the chain of "
        "certificates that grants it the right to sign."),
    "E-6": (
        "Online and offline enrollment carry exactly the same information; the offline "
        "path collects nothing more."),
    "E-7": (
        "Enrolling a client gives its user a client licensor certificate (CLC) for "
        "publishing while disconnected; a user may ask for one at any time, and no client"
        " has to."),
    "E-8": "Every enrollment request is logged, whether it was accepted or refused.",
    "E-9": (
        "Enrollment covers five requests: the root certification server's enrollment, the"
        " sub-enrollment of licensing clusters, client enrollment (CLC), machine "
        "activation (machine certificate) and account certification (RAC)."),
    "S-1": (
        "Only an administrator of the server — a member of its local Administrators "
        "group, or of Domain Admins — may renew its SLC; the administration pages refuse "
        "everyone else."),
    "S-2": "A connected server renews its SLC online, automatically.",
    "S-3": (
        "Offline renewal exports `<ServerName>RenewRequest.xml`, which is submitted from "
        "a connected computer; the new SLC that comes back is imported only after a "
        "confirmation."),
    "S-4": (
        "The computer that submits a request file must trust the enrollment site — its "
        "TLS root in the computer's trusted store, the site among its trusted sites — or "
        "the submission fails with a clear reason."),
    "S-5": (
        "An exported request must reach the enrollment service unchanged; a changed "
        "request is refused."),
    "S-6": "After a renewal, the cluster's resources show the new SLC's expiry date.",
    "P-1": (
        "To publish offline, an author needs a CLC obtained earlier, while connected to "
        "the root certification cluster."),
    "P-2": "The author creates the content and states its rights and conditions.",
    "P-3": (
        "On save, the author's own computer issues the publishing license and signs it "
        "with the CLC's private key."),
    "P-4": (
        "The publishing license holds the content key twice — sealed to the CLC's key and"
        " to the key of the server that issued the CLC — and that server's URL, all three"
        " taken from the CLC."),
    "P-5": (
        "The author's computer also makes an owner license: the content key, opened with "
        "the CLC's private key, sealed again for the author's account key, so the author "
        "can use the content offline."),
    "P-6": (
        "The application encrypts the content with the content key and attaches the "
        "publishing license to the file."),
    "P-7": (
        "Use licenses for a protected file can be issued only by the server that issued "
        "its publishing license's CLC, or by a server holding that server's trusted "
        "publishing domain; every other server refuses."),
    "P-8": (
        "Online publishing, where the server signs the publishing license for a connected"
        " author, yields the same protected-file format."),
    "L-1": (
        "A user with a RAC asks a server that may license the content for a use license; "
        "the server grants only the rights the publishing license gives that user, seals "
        "the content key to the user's account key and signs the use license."),
    "B-1": (
        "Binding is the step that lets a user use content: the application asks the "
        "client for exactly one right — VIEW to open, EDIT to edit, and so on."),
    "B-2": (
        "Before it releases the content key, binding checks the use license's chain, that"
        " the license is for this user and this content, that it grants the right asked "
        "for, and that the right's conditions hold."),
    "R-1": (
        "Binding is refused when an entity involved in the request — the content, a "
        "license, an issuer in its chain, the user, the application — is revoked by a "
        "list that applies."),
    "R-2": (
        "A revocation list is a signed XrML document in which its issuer names the "
        "content, licenses, issuers, users or applications it revokes."),
    "R-3": (
        "Revocation is checked in four steps, stopping at the first that fails: does the "
        "use license require a list; is that list present, registered and fresh; is its "
        "signer named in the license as a principal that may revoke; is anything involved"
        " in the request revoked."),
    "R-4": (
        "A revocation list reaches the client either placed there by an administrator, or"
        " downloaded by the application from the URL in the use license when the license "
        "requires it."),
    "R-5": (
        "A list obtained for one binding is registered in the application session and "
        "used for every later binding in that session, until the application closes and "
        "its registrations are cleared."),
    "R-6": (
        "Revocation is optional: it is in force only where an administrator requires it, "
        "through at least one rights policy template."),
    "R-7": (
        "Where revocation is required, binding happens only with the list present, "
        "registered on the client and no older than the refresh interval in the use "
        "license."),
    "R-8": (
        "A registered list applies even to a use license that does not require "
        "revocation, whenever the list's issuer issued a certificate or license in that "
        "binding's chain of trust."),
    "R-9": (
        "The documentation's worked example holds exactly: of three contents, the first "
        "(requiring A's list) registers it, the second (from A, not requiring it) is "
        "checked against it while the application runs, the third (from C) is not "
        "affected, and after a restart the second is no longer checked."),
    "D-1": "The RMS client works with on-premises AD RMS and with the cloud service alike.",
    "D-2": (
        "The client installs silently (`/quiet`) or interactively, with administrator "
        "rights; the x86 package refuses 64-bit Windows, and the x64 package serves both "
        "32- and 64-bit applications."),
    "D-3": (
        "Client mode (desktop applications) and server mode (services) keep licenses, "
        "templates and registry settings in different places; server-mode paths carry the"
        " SID of the service's account."),
    "D-4": (
        "Registry settings configure the client: service locations, tracing, template "
        "refresh (seconds win over days), forced template download, federation, blocking "
        "of ILS content; 32-bit applications on 64-bit Windows read them under "
        "Wow6432Node."),
    "D-5": (
        "Templates placed in the UnmanagedTemplates folder are used instead of "
        "downloading them from the default server, provided an RMS server issued them and"
        " their names end in `.xml`."),
    "D-6": (
        "With AllowTrustedServersOnly set, the client talks only to the servers on its "
        "TrustedServers list, plus the cloud service; an https URL on the list means TLS."),
    "D-7": (
        "Before protecting, the client looks for a server in the local registry, then in "
        "the service connection point (SCP) in Active Directory, then the cloud service; "
        "before consuming, the server the content names comes first and discovery runs "
        "only if it fails."),
    "D-8": (
        "Registering an SCP needs an Enterprise Admin who is also a local administrator "
        "of the server, and an existing SCP must be removed first."),
    "D-9": (
        "Licensing redirection maps an old licensing URL to a new one, one registry value"
        " per URL: the intranet and extranet URLs each need their own."),
    "A-1": (
        "Any document or store can be inspected — kind, issuer, subject, keys, validity, "
        "rights, chain — with the reason for every check that fails."),
    "A-2": (
        "A whole deployment — servers, clients, stores, registry, logs — can be audited "
        "into a report of findings, with pictures."),
}


def rule_anchor(rule_id: str) -> str:
    """The anchor of a rule's entry in docs/rules.md (``P-4`` → ``p-4``)."""
    return rule_id.lower()
