//! Data platforms where uploads are loaded and exports are queried. The embedded SQLite warehouse, the
//! connection named `local`, is always there.

mod sqlite;

pub use sqlite::{LOCAL_CONNECTION, open_local_warehouse};
