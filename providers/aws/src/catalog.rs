//! Abstract sizes and images to AWS: instance types, DB instance classes, AMI lookups.
//! The sizes follow `overcast_core::catalog::Size` (vCPUs and memory), mapped onto the
//! burstable families that match them exactly.

use overcast_core::catalog::Size;

/// EC2 instance type for an abstract size.
pub fn instance_type(size: Size) -> &'static str {
    match size {
        Size::Nano => "t3.nano",
        Size::Micro => "t3.micro",
        Size::Small => "t3.small",
        Size::Medium => "t3.medium",
        Size::Large => "t3.large",
        Size::Xlarge => "t3.xlarge",
    }
}

/// RDS DB instance class for an abstract size (db.t3 has no nano: micro is the smallest).
pub fn db_instance_class(size: Size) -> &'static str {
    match size {
        Size::Nano | Size::Micro => "db.t3.micro",
        Size::Small => "db.t3.small",
        Size::Medium => "db.t3.medium",
        Size::Large => "db.t3.large",
        Size::Xlarge => "db.t3.xlarge",
    }
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

/// The AMI query for a catalog image name, or `None` when `image` is not in the catalog
/// (then it must be an explicit `ami-...` id).
pub fn ami_query(image: &str) -> Option<AmiQuery> {
    let q = |owner, name| Some(AmiQuery { owner, name });
    match image {
        "ubuntu-24.04" => q(
            "099720109477",
            "ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-amd64-server-*",
        ),
        "ubuntu-22.04" => q(
            "099720109477",
            "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*",
        ),
        "ubuntu-20.04" => q(
            "099720109477",
            "ubuntu/images/hvm-ssd*/ubuntu-focal-20.04-amd64-server-*",
        ),
        "debian-12" => q("136693071363", "debian-12-amd64-*"),
        "amazon-linux-2023" => q("137112412989", "al2023-ami-2023*-x86_64"),
        "amazon-linux-2" => q("137112412989", "amzn2-ami-hvm-*-x86_64-gp2"),
        _ => None,
    }
}

/// Catalog image names, for error hints.
pub const IMAGES: &[&str] = &[
    "ubuntu-24.04",
    "ubuntu-22.04",
    "ubuntu-20.04",
    "debian-12",
    "amazon-linux-2023",
    "amazon-linux-2",
];

/// Lambda runtime identifier for an abstract runtime (`nodejs20` -> `nodejs20.x`).
pub fn lambda_runtime(runtime: &str) -> String {
    if runtime.starts_with("nodejs") && !runtime.ends_with(".x") {
        format!("{runtime}.x")
    } else {
        runtime.to_string()
    }
}

/// The abstract runtime of a Lambda runtime identifier (inverse of [`lambda_runtime`]).
pub fn abstract_runtime(runtime: &str) -> String {
    runtime.strip_suffix(".x").unwrap_or(runtime).to_string()
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
        assert_eq!(lambda_runtime("nodejs20"), "nodejs20.x");
        assert_eq!(lambda_runtime("python3.12"), "python3.12");
        assert_eq!(abstract_runtime("nodejs20.x"), "nodejs20");
    }
}
