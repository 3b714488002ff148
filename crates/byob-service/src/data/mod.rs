//! Data flows: connections to data platforms, uploads staged in buckets, loads of uploaded CSVs, and the
//! janitor that cleans staged files up.

mod assets;
mod attachments;
mod connections;
mod export;
mod failure;
mod import;
mod janitor;
mod load;
mod migrations;
mod parts;
mod plan;
mod platforms;
mod ranges;
mod schedule;
mod stream;
mod uploads;

pub(crate) use assets::CHECK_JOB as ASSET_CHECK_JOB;
pub use assets::{
    AssetOperatorSettings, AssetService, CreateAssetUpload, Preconditions, PublicKeyView, PublicKeys, RebuildReport,
    RebuildRequest, UpdateAssetSettings, VerifiedRead,
};
pub(crate) use attachments::SCAN_JOB;
pub use attachments::{
    AttachmentPlan, AttachmentService, AttachmentSettings, CreateAttachment, Delivery, PolicyView, ScannerSettings,
    SlotFilter, ThumbnailLimits,
};
pub use connections::{
    ALL_CONNECTION_CHECKS, ConnectionReport, ConnectionService, ConnectionTest, ConnectionView, CreateConnection,
    NetworkArtifact, TableView, TrustHostKey, UpdateConnection,
};
pub use export::{CreateExport, ExportCreated, ExportPreview, ExportService, ExportView, PreviewExport};
pub use import::{Candidate, CreateImport, ImportService, ImportView, RejectedKey, Resolution, RunImport};
pub use janitor::{Janitor, JanitorReport, JanitorTotals};
pub use load::{ColumnOverride, LoadRequest, LoadVia, Loads, Mode, OnError, PreviewOptions};
pub(crate) use migrations::MIGRATION_JOB;
pub use migrations::{CreateMigration, MigrationService, MigrationSettings};
pub use plan::{PartUrl, UploadPlan};
pub use platforms::PLATFORMS;
pub use schedule::ScheduleRequest;
pub use uploads::{
    CompleteUpload, CompletedPart, CreateUpload, PartUrls, RefreshParts, RelayRate, UploadService, UploadSettings,
};
