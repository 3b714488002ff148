"""moto's server with AWS's session-policy rule added to its access control.

AWS allows a request signed with an AssumeRole session only when both the role's policies and the session
policy passed to AssumeRole allow it (their intersection). moto 5.2 records the session policy but evaluates
only the role's own policies; this adds the second half, with moto's own policy evaluator, so a test can show
that the credentials byob vends for one object cannot read another. Usage: the same arguments as moto_server.
"""

import sys

from moto.iam import access_control
from moto.sts.models import sts_backends

_role_policies_only = access_control.IAMRequestBase.check_action_permitted


def _check_action_permitted(self, resource):
    _role_policies_only(self, resource)
    key = self._access_key
    if not isinstance(key, access_control.AssumedRoleAccessKey):
        return
    for session in sts_backends[key.account_id][key.partition].assumed_roles:
        if session.access_key_id == key._access_key_id and session.policy:
            verdict = access_control.IAMPolicy(session.policy).is_action_permitted(self._action, resource)
            if verdict != access_control.PermissionResult.PERMITTED:
                self._raise_access_denied()


access_control.IAMRequestBase.check_action_permitted = _check_action_permitted

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
