//! Every route, one file per resource. Every route is registered here through `routes!`, so it appears in the
//! OpenAPI document, which is how the tenant-isolation test finds it.

mod assets;
mod attachments;
mod audit;
mod connections;
mod exports;
mod imports;
mod integrations;
mod members;
mod migrations;
mod orgs;
mod secrets;
mod system;
mod tokens;
mod uploads;
mod webhooks;

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    problem::{ApiError, Problem},
};

/// The relay part endpoint: outside the request body limit and timeout (it streams file parts), and public
/// (its URL carries the capability).
pub(crate) fn relay() -> OpenApiRouter<AppState> {
    crate::base_router().routes(routes!(uploads::relay_part))
}

/// Asset writes and reads, and the completion of a planned upload (which reads the bytes back through SHA-256):
/// authorized like every route, but outside the request body limit and timeout (their bytes stream, whatever
/// their size).
pub(crate) fn streams() -> OpenApiRouter<AppState> {
    crate::base_router().routes(routes!(assets::write, assets::read)).routes(routes!(assets::complete_upload))
}

pub(crate) fn all() -> OpenApiRouter<AppState> {
    crate::base_router()
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(system::metrics))
        .routes(routes!(system::whoami))
        .routes(routes!(orgs::create, orgs::list))
        .routes(routes!(orgs::get, orgs::rename, orgs::delete))
        .routes(routes!(members::create, members::list))
        .routes(routes!(members::get, members::update, members::delete))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(tokens::revoke))
        .routes(routes!(secrets::create, secrets::list))
        .routes(routes!(secrets::get, secrets::update, secrets::delete))
        .routes(routes!(audit::list))
        .routes(routes!(integrations::create, integrations::list))
        .routes(routes!(integrations::get, integrations::update, integrations::delete))
        .routes(routes!(integrations::disable))
        .routes(routes!(integrations::enable))
        .routes(routes!(integrations::setup))
        .routes(routes!(integrations::rotate_external_id))
        .routes(routes!(integrations::promote_external_id))
        .routes(routes!(integrations::verify))
        .routes(routes!(integrations::verifications))
        .routes(routes!(integrations::latest_verification))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::test))
        .routes(routes!(webhooks::events))
        .routes(routes!(connections::create, connections::list))
        .routes(routes!(connections::get, connections::update, connections::delete))
        .routes(routes!(connections::test))
        .routes(routes!(connections::verify))
        .routes(routes!(connections::report))
        .routes(routes!(connections::setup))
        .routes(routes!(connections::trust_host_key))
        .routes(routes!(connections::tables))
        .routes(routes!(connections::columns))
        .routes(routes!(uploads::create, uploads::list))
        .routes(routes!(uploads::get, uploads::abort))
        .routes(routes!(uploads::complete))
        .routes(routes!(uploads::refresh))
        .routes(routes!(uploads::preview))
        .routes(routes!(uploads::load))
        .routes(routes!(uploads::jobs))
        .routes(routes!(uploads::job))
        .routes(routes!(uploads::cancel_job))
        .routes(routes!(assets::list))
        .routes(routes!(assets::public_key))
        .routes(routes!(assets::settings, assets::set_settings))
        .routes(routes!(assets::verify, assets::latest_report))
        .routes(routes!(assets::rebuild))
        .routes(routes!(assets::delete))
        .routes(routes!(assets::versions))
        .routes(routes!(assets::restore))
        .routes(routes!(assets::create_upload))
        .routes(routes!(assets::refresh_upload))
        .routes(routes!(assets::abort_upload))
        .routes(routes!(migrations::create, migrations::list))
        .routes(routes!(migrations::get))
        .routes(routes!(migrations::cancel))
        .routes(routes!(attachments::create, attachments::list, attachments::delete_all))
        .routes(routes!(attachments::get, attachments::delete))
        .routes(routes!(attachments::complete))
        .routes(routes!(attachments::refresh))
        .routes(routes!(attachments::download))
        .routes(routes!(attachments::thumbnail))
        .routes(routes!(attachments::policies))
        .routes(routes!(attachments::get_policy, attachments::set_policy, attachments::reset_policy))
        .routes(routes!(exports::create, exports::list))
        .routes(routes!(exports::preview))
        .routes(routes!(exports::get, exports::delete))
        .routes(routes!(exports::pause))
        .routes(routes!(exports::resume))
        .routes(routes!(exports::runs, exports::trigger))
        .routes(routes!(exports::run))
        .routes(routes!(exports::ack))
        .routes(routes!(imports::create, imports::list))
        .routes(routes!(imports::get, imports::delete))
        .routes(routes!(imports::pause))
        .routes(routes!(imports::resume))
        .routes(routes!(imports::resolve))
        .routes(routes!(imports::runs, imports::trigger))
        .routes(routes!(imports::run))
}

/// Paging parameters of a list whose cursor is an id with the given prefix.
macro_rules! page_query {
    ($name:ident, $pattern:literal) => {
        #[derive(Debug, Deserialize, IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub(crate) struct $name {
            /// Items per page, 1-1000 (default 100).
            #[param(minimum = 1, maximum = 1000)]
            pub limit: Option<u32>,
            /// `next_cursor` of the previous page.
            #[param(pattern = $pattern)]
            pub cursor: Option<String>,
        }

        impl $name {
            pub(crate) fn page<C: FromStr>(&self) -> Result<byob_ports::catalog::Page<C>, ApiError> {
                page(self.limit, self.cursor.as_deref())
            }
        }
    };
}

page_query!(OrgPage, "^org_[0-9a-hjkmnp-tv-z]{26}$");
page_query!(MemberPage, "^mem_[0-9a-hjkmnp-tv-z]{26}$");
page_query!(SecretPage, "^sec_[0-9a-hjkmnp-tv-z]{26}$");
page_query!(IntegrationPage, "^int_[0-9a-hjkmnp-tv-z]{26}$");
page_query!(UploadPage, "^upl_[0-9a-hjkmnp-tv-z]{26}$");

pub(crate) const DEFAULT_PAGE: u32 = 100;

pub(crate) fn page<C: FromStr>(
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<byob_ports::catalog::Page<C>, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::of(byob_core::codes::INVALID_QUERY, "`limit` must be between 1 and 1000")
            .with_field("limit")
            .into());
    }
    let after = match cursor {
        Some(c) => Some(c.parse().map_err(|_| {
            Problem::of(byob_core::codes::INVALID_QUERY, "`cursor` is not a cursor byob issued for this list")
                .with_field("cursor")
        })?),
        None => None,
    };
    Ok(byob_ports::catalog::Page { after, limit })
}

/// A page of items and the cursor of the next page (absent on the last page).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Listing<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Listing<T> {
    /// `cursor_of` gives the keyset cursor of an item; a full page implies there may be more.
    pub(crate) fn new(items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Self {
        let next_cursor = if items.len() == limit as usize { items.last().map(cursor_of) } else { None };
        Self { items, next_cursor }
    }
}

/// A `limit` query parameter within `1..=max`, or `default` when absent.
pub(crate) fn bounded_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => {
            Err(byob_service::ServiceError::invalid("limit", format!("must be between 1 and {max}, not {n}")).into())
        }
    }
}
