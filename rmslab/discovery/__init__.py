"""Client deployment, registry configuration and service discovery (SPEC D-1 … D-9).

=====================  ==================================================================
module                 owns
=====================  ==================================================================
``regfile``            ``.reg`` files, read and written as the registry editor does (D-4)
``registry``           a machine's registry hives; the WOW64 view of 32-bit apps (D-4)
``ldif``               LDIF (RFC 2849) as ``ldifde`` exports and imports it (D-7, D-8)
``directory``          a directory built from LDIF: entries by DN (D-7, D-8)
``scp``                the AD RMS service connection point: lookup, registration (D-7, D-8)
``paths``              client mode and server mode locations (D-3, D-5)
``machine``            one application on one computer, as discovery sees it
``settings``           the client's registry settings; trusted servers (D-4, D-6, D-9)
``templates``          template refresh and forced download; UnmanagedTemplates (D-4, D-5)
``services``           the shape of service URLs; the cloud service (D-1, D-7)
``discover``           service discovery, licensing redirection (D-7, D-9, D-6, D-1)
``installation``       which client package installs where, and why not (D-2)
``samples``            lab-signed licenses and templates for the lessons
``command``            ``rmslab discover``
=====================  ==================================================================
"""

from rmslab.discovery.directory import Directory, Entry
from rmslab.discovery.discover import Attempt, Discovery, discover, license_urls
from rmslab.discovery.installation import InstallDecision, check_installation
from rmslab.discovery.ldif import LdifRecord, parse_ldif, read_ldif_file, write_ldif
from rmslab.discovery.machine import Machine
from rmslab.discovery.paths import (NETWORK_SERVICE_SID, ClientMode, ClientPaths, client_paths,
                                    host_path)
from rmslab.discovery.regfile import (KeyBlock, KeyDeletion, RegFile, RegType, RegValue,
                                      ValueDeletion, parse_reg, read_reg_file, reg_text,
                                      write_reg)
from rmslab.discovery.registry import Registry, RegistryView
from rmslab.discovery.scp import AdminAccount, ScpChange, find_scp, register_scp, remove_scp
from rmslab.discovery.services import AZURE_RMS, CloudService
from rmslab.discovery.settings import ClientSettings, read_settings
from rmslab.discovery.templates import (force_template_download, template_download,
                                        unmanaged_templates)

__all__ = [
    "AdminAccount", "Attempt", "AZURE_RMS", "check_installation", "client_paths",
    "ClientMode", "ClientPaths", "ClientSettings", "CloudService", "Directory", "discover",
    "Discovery", "Entry", "find_scp", "force_template_download", "host_path",
    "InstallDecision", "KeyBlock", "KeyDeletion", "LdifRecord", "license_urls", "Machine",
    "NETWORK_SERVICE_SID", "parse_ldif", "parse_reg", "read_ldif_file", "read_reg_file",
    "read_settings", "reg_text", "RegFile", "register_scp", "Registry", "RegistryView",
    "RegType", "RegValue", "remove_scp", "ScpChange", "template_download",
    "unmanaged_templates", "ValueDeletion", "write_ldif", "write_reg",
]
