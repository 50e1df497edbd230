"""The actors of a deployment: enrollment service, clusters and servers, clients, people.
Each owns its keys and state; none does I/O by itself (docs/architecture.md)."""

from rmslab.actors.client import Account, Client
from rmslab.actors.cluster import LICENSING_ONLY, ROOT, Cluster, ClusterResources, Server
from rmslab.actors.enrollment_service import EnrollmentService
from rmslab.actors.people import Computer, Directory, User

__all__ = ["Account", "Client", "Cluster", "ClusterResources", "Server", "ROOT",
           "LICENSING_ONLY", "EnrollmentService", "Computer", "Directory", "User"]
