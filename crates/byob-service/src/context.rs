use byob_core::Actor;

use crate::Principal;

/// Who is calling, and the request id that ties their audit entries to the server's logs.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub principal: Principal,
    pub request_id: Option<String>,
}

impl RequestContext {
    #[must_use]
    pub fn new(principal: Principal, request_id: Option<String>) -> Self {
        Self { principal, request_id }
    }

    /// byob itself, for maintenance commands and background work.
    #[must_use]
    pub fn system() -> Self {
        Self { principal: Principal::System, request_id: None }
    }

    #[must_use]
    pub fn actor(&self) -> Actor {
        self.principal.actor()
    }
}
