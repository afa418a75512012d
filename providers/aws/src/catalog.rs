//! The core catalog's AWS column (`providers/core/catalog/*.toml`), in the shapes this crate
//! uses: EC2 instance types, RDS classes and versions, AMI queries, Lambda runtimes, S3
//! storage classes and EventBridge schedule expressions. No table lives here: a value that
//! changes is changed in the catalog, for every cloud at once.

use overcast_core::ProviderError;
use overcast_core::catalog::schedule::Schedule;
use overcast_core::catalog::{Cloud, NativeStorageClass, Size, catalog, class_name};
use overcast_core::kinds::{DbEngine, StorageClass};

/// EC2 instance type for an abstract size.
pub fn instance_type(size: Size) -> &'static str {
    &catalog().compute(Cloud::Aws, size).name
}

/// RDS DB instance class for an abstract size.
pub fn db_instance_class(size: Size) -> &'static str {
    &catalog().db_class(Cloud::Aws, size).name
}

/// RDS engine version for the version a spec asks for: a major the catalog knows becomes
/// RDS's identifier for it; anything else (a minor such as `16.4`) goes to RDS as written.
pub fn engine_version(engine: DbEngine, asked: &str) -> &str {
    catalog()
        .engine_version(engine, asked)
        .map_or(asked, |v| v.native(Cloud::Aws))
}

/// How to find the AMI of a catalog image: owner account and a name pattern; the newest
/// match wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmiQuery {
    /// Owning account (Canonical, Debian, Amazon).
    pub owner: &'static str,
    /// `Name` filter with wildcards.
    pub name: &'static str,
}

/// The AMI query for a catalog image name, or `None` when `image` is not a catalog image
/// published on AWS (then it must be an explicit `ami-...` id).
pub fn ami_query(image: &str) -> Option<AmiQuery> {
    let q = catalog().image(image)?.aws.available().ok()?;
    Some(AmiQuery {
        owner: &q.owner,
        name: &q.name,
    })
}

/// Catalog images published on AWS, for error hints.
pub fn image_names() -> Vec<&'static str> {
    catalog()
        .images()
        .iter()
        .filter(|i| i.aws.available().is_ok())
        .map(|i| i.name.as_str())
        .collect()
}

/// Lambda runtime identifier for an abstract runtime (`nodejs20` -> `nodejs20.x`).
pub fn lambda_runtime(runtime: &str) -> Result<&'static str, ProviderError> {
    catalog()
        .runtime(Cloud::Aws, runtime)
        .map(|r| r.id.as_str())
        .ok_or_else(|| {
            ProviderError::invalid(format!("runtime `{runtime}` is not in the catalog"))
                .with_hint(format!("use one of {}", runtime_names().join(", ")))
        })
}

/// The abstract runtime of a Lambda runtime identifier (inverse of [`lambda_runtime`]).
pub fn abstract_runtime(id: &str) -> Option<&'static str> {
    catalog().runtime_of_native(Cloud::Aws, id)
}

fn runtime_names() -> Vec<&'static str> {
    catalog()
        .runtimes()
        .iter()
        .map(|r| r.name.as_str())
        .collect()
}

/// The S3 storage class of an abstract class, with its transition rules.
pub fn storage_class(class: StorageClass) -> &'static NativeStorageClass {
    catalog().storage_class(Cloud::Aws, class)
}

/// The abstract class of an S3 storage class, by name (`STANDARD_IA` -> `infrequent`);
/// classes the catalog does not know read as `standard`, where S3 creates objects.
pub fn abstract_storage_class(native: &str) -> &'static str {
    catalog()
        .storage_class_of_native(Cloud::Aws, native)
        .map_or("standard", |n| class_name(n.value))
}

/// The EventBridge schedule expression of a trigger's schedule: neutral syntax translated,
/// EventBridge syntax as written.
pub fn schedule_expression(schedule: &str) -> Result<String, ProviderError> {
    Schedule::parse(schedule)
        .and_then(|s| s.for_cloud(Cloud::Aws))
        .map_err(|e| {
            ProviderError::invalid(format!("schedule `{schedule}`: {}", e.message))
                .with_hint(format!("write {}", e.expected))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_images_and_runtimes_map() {
        assert_eq!(instance_type(Size::Small), "t3.small");
        assert_eq!(db_instance_class(Size::Nano), "db.t3.micro");
        assert!(ami_query("ubuntu-24.04").is_some());
        assert!(ami_query("ami-0123456789abcdef0").is_none());
        assert_eq!(lambda_runtime("nodejs20").ok(), Some("nodejs20.x"));
        assert_eq!(lambda_runtime("python3.12").ok(), Some("python3.12"));
        assert!(lambda_runtime("cobol85").is_err());
        assert_eq!(abstract_runtime("nodejs20.x"), Some("nodejs20"));
        assert_eq!(engine_version(DbEngine::Postgres, "16"), "16");
        assert_eq!(engine_version(DbEngine::Postgres, "16.4"), "16.4");
    }

    /// The tables replaced code that chose these values; AWS behaviour must not change.
    #[test]
    fn the_tables_keep_what_aws_always_got() {
        let types: Vec<&str> = Size::ALL.into_iter().map(instance_type).collect();
        assert_eq!(
            types,
            [
                "t3.nano",
                "t3.micro",
                "t3.small",
                "t3.medium",
                "t3.large",
                "t3.xlarge"
            ]
        );
        let classes: Vec<&str> = Size::ALL.into_iter().map(db_instance_class).collect();
        assert_eq!(
            classes,
            [
                "db.t3.micro",
                "db.t3.micro",
                "db.t3.small",
                "db.t3.medium",
                "db.t3.large",
                "db.t3.xlarge"
            ]
        );
        let amis = [
            (
                "ubuntu-24.04",
                "099720109477",
                "ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-amd64-server-*",
            ),
            (
                "ubuntu-22.04",
                "099720109477",
                "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*",
            ),
            (
                "ubuntu-20.04",
                "099720109477",
                "ubuntu/images/hvm-ssd*/ubuntu-focal-20.04-amd64-server-*",
            ),
            ("debian-12", "136693071363", "debian-12-amd64-*"),
            (
                "amazon-linux-2023",
                "137112412989",
                "al2023-ami-2023*-x86_64",
            ),
            (
                "amazon-linux-2",
                "137112412989",
                "amzn2-ami-hvm-*-x86_64-gp2",
            ),
        ];
        for (image, owner, name) in amis {
            assert_eq!(ami_query(image), Some(AmiQuery { owner, name }), "{image}");
        }
        assert_eq!(image_names().len(), amis.len());
        for (abs, id) in [
            ("python3.11", "python3.11"),
            ("python3.12", "python3.12"),
            ("python3.13", "python3.13"),
            ("nodejs18", "nodejs18.x"),
            ("nodejs20", "nodejs20.x"),
            ("nodejs22", "nodejs22.x"),
        ] {
            assert_eq!(lambda_runtime(abs).ok(), Some(id));
        }
        assert_eq!(storage_class(StorageClass::Standard).native, "STANDARD");
        let ia = storage_class(StorageClass::Infrequent);
        assert_eq!(
            (ia.native.as_str(), ia.transition_min_days),
            ("STANDARD_IA", 30)
        );
        let glacier = storage_class(StorageClass::Archive);
        assert_eq!(
            (glacier.native.as_str(), glacier.transition_min_days),
            ("GLACIER", 0)
        );
        for (native, abs) in [
            ("STANDARD_IA", "infrequent"),
            ("ONEZONE_IA", "infrequent"),
            ("GLACIER", "archive"),
            ("DEEP_ARCHIVE", "archive"),
            ("GLACIER_IR", "archive"),
            ("INTELLIGENT_TIERING", "standard"),
            ("SOMETHING_NEW", "standard"),
        ] {
            assert_eq!(abstract_storage_class(native), abs, "{native}");
        }
    }

    #[test]
    fn schedules_become_eventbridge_expressions() {
        assert_eq!(
            schedule_expression("rate(1 day)").ok().as_deref(),
            Some("rate(1 day)")
        );
        assert_eq!(
            schedule_expression("every 1d").ok().as_deref(),
            Some("rate(1 day)")
        );
        assert_eq!(
            schedule_expression("0 12 * * MON-FRI").ok().as_deref(),
            Some("cron(0 12 ? * MON-FRI *)")
        );
        let e = schedule_expression("every 7m").unwrap_err();
        assert!(e.to_string().contains("does not divide an hour"), "{e}");
    }
}
