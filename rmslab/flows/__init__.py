"""Flows: the steps of the system, each returning its result and a Trace (docs/architecture.md).

Flows compose the actors; they never print, never read the wall clock or the OS random
source (time and randomness come from the lab), and record every check with its SPEC ID.
"""

from rmslab.flows.certification import (activate_machine, certify_account,
                                         enroll_client)
from rmslab.flows.enrollment import (RequestFile, enroll_root_cluster,
                                     export_enrollment_request, import_enrollment_response,
                                     join_server, self_enroll, sub_enroll,
                                     submit_enrollment_request)
from rmslab.flows.renewal import (export_renewal_request, import_renewal_response,
                                  renew_slc_online, submit_renewal_request)
from rmslab.flows.server_state import (acquire_content_key, administer_template,
                                       decommission_cluster, remove_protection,
                                       set_online_publishing)

__all__ = [
    "RequestFile", "enroll_root_cluster", "export_enrollment_request",
    "submit_enrollment_request", "import_enrollment_response", "sub_enroll", "self_enroll",
    "join_server",
    "activate_machine", "certify_account", "enroll_client",
    "renew_slc_online", "export_renewal_request", "submit_renewal_request",
    "import_renewal_response",
    "decommission_cluster", "set_online_publishing", "administer_template",
    "acquire_content_key", "remove_protection",
]
