//! Kubernetes manifests for Wangge on SpinKube (README, "Deploying to Kubernetes"), host-independent.
//!
//! - [`city`]: the districts (区、县、县级市) of the loaded regions and their size (grids, staff);
//! - [`scaling`]: a district's HPA bounds from its size (the formula, tested);
//! - [`spin_manifest`]: what `spin.toml` declares: components, variables, which variables each uses;
//! - [`manifests`]: the documents: SpinApps with selective deployment, HPA, CronJobs, Ingress,
//!   ConfigMap, the grid-lookup Service;
//! - [`layout`]: writes them as a Kustomize base plus an overlay (`deploy/<name>/`);
//! - [`render`]: the subset of Kustomize the layout uses, to render an overlay without `kustomize`;
//! - [`checks`]: what a rendered overlay must hold (SpinKube's fields, every component and variable
//!   bound, no Secret value in plain text, every CronJob path in the OpenAPI document).

pub mod checks;
pub mod city;
pub mod layout;
pub mod manifests;
pub mod render;
pub mod scaling;
pub mod spin_manifest;
