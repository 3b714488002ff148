//! Whole collections read from the catalog page by page, for the modules that need all of an org's records.

use byob_core::{OrgId, integration::Integration};
use byob_ports::catalog::Page;

use crate::{Deps, ServiceError};

/// Every integration of the org (orgs have a handful; pages keep each query bounded).
pub(crate) async fn all_integrations(deps: &Deps, org: OrgId) -> Result<Vec<Integration>, ServiceError> {
    const PAGE: u32 = 500;
    let mut all: Vec<Integration> = Vec::new();
    loop {
        let after = all.last().map(|i| i.id);
        let page = deps.catalog.list_integrations(org, Page { after, limit: PAGE }).await?;
        let full = page.len() == PAGE as usize;
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}
