//! Request rates per API token and per org (GCRA, from `governor`): one noisy token, or one noisy tenant with
//! many tokens, is answered 429 with `Retry-After` while everyone else's requests go on. Counted only after a
//! caller is authenticated, against the caller's own token and org — never against an org named in a path, so
//! an outsider cannot spend another org's budget. The operator is not limited.

use std::{
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use byob_core::{OrgId, TokenId};
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
};

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// The limiters (`None`: that limit is off).
#[derive(Clone, Default)]
pub(crate) struct RateLimits {
    token: Option<Arc<Keyed<TokenId>>>,
    org: Option<Arc<Keyed<OrgId>>>,
    /// Requests counted, to forget idle keys now and then.
    seen: Arc<AtomicU64>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").field("token", &self.token.is_some()).field("org", &self.org.is_some()).finish()
    }
}

/// A request over a limit: which one, and how long until the next would pass.
#[derive(Debug)]
pub(crate) struct Limited {
    pub which: &'static str,
    pub retry_after: Duration,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_second: u32) -> Option<Arc<Keyed<K>>> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = NonZeroU32::new(per_second.saturating_mul(2)).unwrap_or(rate);
    Some(Arc::new(RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))))
}

fn check<K: std::hash::Hash + Eq + Clone>(limiter: Option<&Keyed<K>>, key: &K) -> Result<(), Duration> {
    let Some(limiter) = limiter else { return Ok(()) };
    limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

impl RateLimits {
    pub(crate) fn new(token_per_second: u32, org_per_second: u32) -> Self {
        Self { token: limiter(token_per_second), org: limiter(org_per_second), seen: Arc::default() }
    }

    /// Counts one request of `token` in `org`.
    pub(crate) fn admit(&self, token: TokenId, org: OrgId) -> Result<(), Limited> {
        // Keys of tokens and orgs idle long enough to be back at a full burst are forgotten every so often,
        // so the tables stay the size of the callers of the last few seconds.
        if self.seen.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.shrink();
        }
        check(self.token.as_deref(), &token).map_err(|retry_after| Limited { which: "token", retry_after })?;
        check(self.org.as_deref(), &org).map_err(|retry_after| Limited { which: "org", retry_after })?;
        Ok(())
    }

    fn shrink(&self) {
        if let Some(t) = &self.token {
            t.retain_recent();
        }
        if let Some(o) = &self.org {
            o.retain_recent();
        }
    }
}
