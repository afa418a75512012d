//! The `function` kind on Azure: a Linux function app on a Consumption plan (Microsoft.Web
//! 2024-04-01), running from a package in a storage account of its own.
//!
//! A function resource `worker` is four natives:
//!
//! - `worker.storage`: its storage account (`azure_storage_account`, the storage kind's
//!   handler with inputs of its own): `AzureWebJobsStorage` of the app, and the holder of its
//!   packages;
//! - `worker.packages`: the `packages` container of that account (`azure_storage_container`);
//! - `worker.plan`: the App Service plan ([`plan`]: Linux Consumption, `Y1`/Dynamic, tagged);
//! - `worker.app`: the function app ([`app`]: `Microsoft.Web/sites` of kind
//!   `functionapp,linux`), whose one function is named after the resource.
//!
//! The package ([`package`]) is the source directory zipped deterministically with what
//! Azure Functions needs beside it: `host.json` (the timeout), `<function>/function.json`
//! (the trigger's binding) and the generated adapter ([`adapter`]) that keeps the handler's
//! `(event, context)` contract. It is uploaded to the container as
//! `<app>/<sha256>.zip` and the app runs from it through `WEBSITE_RUN_FROM_PACKAGE`, a URL
//! with a read-only SAS: a new source is a new blob and an in-place update of the app.
//!
//! Why the Consumption plan and not Flex Consumption (which the catalog's `azure` limits
//! describe): Flex Consumption deploys through its OneDeploy endpoint rather than a package
//! URL, and takes blob triggers only through an Event Grid subscription; Linux Consumption
//! runs a package from a URL and polls containers itself, so every trigger here is one ARM
//! resource and one blob. Linux Consumption gets no language versions after Python 3.12 and
//! Node.js 22, and has no memory setting (every instance has 1.5 GB): `memory` is recorded
//! as the catalog sizes it, and a function that runs longer than 10 minutes is clamped.

pub mod abstracts;
pub mod adapter;
pub mod app;
pub mod expand;
pub mod invoke;
pub mod package;
pub mod plan;

/// The pinned api-version of Microsoft.Web.
pub const API: &str = "2024-04-01";
/// The ARM type of a function app.
pub const SITE_TYPE: &str = "Microsoft.Web/sites";
/// The ARM type of an App Service plan.
pub const PLAN_TYPE: &str = "Microsoft.Web/serverfarms";
/// The container of the app's storage account that holds its packages.
pub const PACKAGES: &str = "packages";
