//! The conformance suite: the behaviours every provider owes the engine, checked the same
//! way on every cloud. A provider's tests build it for a target on their server (the
//! local cloud, moto, an Azure or GCP contract server) and run [`check`] on one
//! [`Case`] per kind; the report says which step broke and why.
//!
//! For each case: expand; create every native in dependency order; read each back with no
//! drift; create again as a retry whose first answer was lost (no second resource); adopt
//! after an interrupted create (finds the same one); discover it with owner labels that
//! decode to its owner; map it back to its abstract kind; update in place; replace; delete;
//! delete again (already gone is a success); read after delete (gone).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::discovery::DiscoveryFilter;
use crate::error::{ErrorClass, ProviderError};
use crate::kinds::{Kind, Properties};
use crate::native::{Attrs, CreateRequest, NativeAddr, NativeSpec, NativeState, OwnerTags};
use crate::op::OpContext;
use crate::provider::{AbstractResource, Provider};
use crate::refs::{self, Lookup, Ref, RefError};

/// One abstract resource to put through the suite.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its logical name (unique per run: cloud names derive from it).
    pub name: String,
    /// Its properties.
    pub properties: Properties,
    /// Properties that change something in place (no native is replaced), if the kind
    /// has any on this provider.
    pub update: Option<Properties>,
    /// Properties that force the replacement of at least one native, if the kind has any.
    pub replace: Option<Properties>,
}

impl Case {
    /// A case of `kind` from JSON properties (defaults filled in by the kind's schema).
    pub fn new(name: &str, kind: Kind, properties: Value) -> Result<Case, serde_json::Error> {
        Ok(Case {
            name: name.to_string(),
            properties: Properties::from_value(kind, properties)?,
            update: None,
            replace: None,
        })
    }

    /// Add an in-place change.
    pub fn with_update(mut self, properties: Value) -> Result<Case, serde_json::Error> {
        self.update = Some(Properties::from_value(self.properties.kind(), properties)?);
        Ok(self)
    }

    /// Add a replacing change.
    pub fn with_replace(mut self, properties: Value) -> Result<Case, serde_json::Error> {
        self.replace = Some(Properties::from_value(self.properties.kind(), properties)?);
        Ok(self)
    }
}

/// Where a provider and its target are.
#[derive(Debug, Clone)]
pub struct Target {
    /// Stack name the natives are tagged with.
    pub stack: String,
    /// Target name.
    pub target: String,
}

/// A step of the suite that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The case.
    pub case: String,
    /// The step (`create`, `read after create`, `update`, ...).
    pub step: &'static str,
    /// The native, when the step is about one.
    pub native: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.case, self.step)?;
        if let Some(n) = &self.native {
            write!(f, " of `{n}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What a passing run did, for the test to show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Passed {
    /// Natives created.
    pub created: usize,
    /// Natives updated in place.
    pub updated: usize,
    /// Natives replaced.
    pub replaced: usize,
    /// The abstract kind each case mapped back to.
    pub mapped_back: Vec<(String, Kind)>,
}

type Step<T> = Result<T, Failure>;

struct Run<'p> {
    provider: &'p dyn Provider,
    target: &'p Target,
    case: &'p Case,
    ctx: OpContext,
}

impl Run<'_> {
    fn fail(&self, step: &'static str, native: Option<&NativeAddr>, message: String) -> Failure {
        Failure {
            case: self.case.name.clone(),
            step,
            native: native.map(ToString::to_string),
            message,
        }
    }

    fn provider_err(
        &self,
        step: &'static str,
        native: Option<&NativeAddr>,
        e: ProviderError,
    ) -> Failure {
        self.fail(step, native, format!("{} ({})", e.to_report(), e.class))
    }

    fn expand(&self, properties: &Properties) -> Step<Vec<NativeSpec>> {
        let res = AbstractResource {
            name: self.case.name.clone(),
            properties: properties.clone(),
            referenced_kinds: BTreeMap::new(),
        };
        let specs = self
            .provider
            .expand(&res)
            .map_err(|e| self.provider_err("expand", None, e))?;
        order(specs).map_err(|m| self.fail("expand", None, m))
    }

    fn request(&self, spec: &NativeSpec, inputs: Attrs, secrets: Attrs) -> CreateRequest {
        let addr = NativeAddr::new(self.case.name.clone(), spec.local.clone());
        CreateRequest {
            owner: OwnerTags {
                stack: self.target.stack.clone(),
                target: self.target.target.clone(),
                resource: addr.to_string(),
            },
            addr,
            kind: self.case.properties.kind(),
            type_name: spec.type_name.clone(),
            inputs,
            secrets,
        }
    }

    fn resolve(&self, spec: &NativeSpec, states: &[NativeState]) -> Step<Attrs> {
        let mut lookup = |r: &Ref| -> Result<Lookup, RefError> {
            match r {
                Ref::Native {
                    resource,
                    local,
                    attr,
                } => Ok(states
                    .iter()
                    .find(|s| s.addr.resource == *resource && s.addr.local == *local)
                    .map_or(Lookup::Unknown, |s| {
                        Lookup::Known(
                            s.outputs
                                .get(attr)
                                .or_else(|| s.inputs.get(attr))
                                .cloned()
                                .unwrap_or(Value::Null),
                        )
                    })),
                other => Err(RefError {
                    message: format!("a conformance case cannot refer to `{other}`"),
                    span: 0..0,
                }),
            }
        };
        let mut out = Attrs::new();
        for (k, v) in &spec.inputs {
            let resolved =
                refs::resolve(v, &mut lookup).map_err(|e| self.fail("resolve", None, e.message))?;
            out.insert(k.clone(), resolved);
        }
        Ok(out)
    }

    fn state(
        &self,
        req: &CreateRequest,
        spec: &NativeSpec,
        obs: crate::native::Observed,
    ) -> NativeState {
        NativeState {
            addr: req.addr.clone(),
            kind: req.kind,
            type_name: req.type_name.clone(),
            id: obs.id,
            inputs: req.inputs.clone(),
            outputs: obs.outputs,
            depends_on: Vec::new(),
            sensitive: spec.sensitive.clone(),
            force_new: spec.force_new.clone(),
            protect: false,
        }
    }

    /// Create one native (with the secrets its provider generates) and read it back.
    async fn create_one(
        &self,
        (step, read_step): (&'static str, &'static str),
        spec: &NativeSpec,
        inputs: Attrs,
    ) -> Step<(CreateRequest, NativeState)> {
        let secrets = self.provider.generate_secrets(&spec.type_name);
        let req = self.request(spec, inputs, secrets);
        let obs = self
            .provider
            .create(&self.ctx, &req)
            .await
            .map_err(|e| self.provider_err(step, Some(&req.addr), e))?;
        if obs.id.is_empty() {
            return Err(self.fail(step, Some(&req.addr), "an empty id".into()));
        }
        let st = self.state(&req, spec, obs);
        self.no_drift(read_step, &st).await?;
        Ok((req, st))
    }

    /// Create every native of `specs`; for the first one also prove a retried create and
    /// an adopt find the same resource.
    async fn create_all(&self, specs: &[NativeSpec]) -> Step<Vec<NativeState>> {
        let mut states: Vec<NativeState> = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let inputs = self.resolve(spec, &states)?;
            let (req, st) = self
                .create_one(("create", "read after create"), spec, inputs)
                .await?;
            if i == 0 {
                self.retry_and_adopt(&req, &st).await?;
            }
            states.push(st);
        }
        Ok(states)
    }

    async fn no_drift(&self, step: &'static str, st: &NativeState) -> Step<()> {
        let live = self
            .provider
            .read(&self.ctx, st)
            .await
            .map_err(|e| self.provider_err(step, Some(&st.addr), e))?
            .ok_or_else(|| self.fail(step, Some(&st.addr), "not found".into()))?;
        if live.id != st.id {
            return Err(self.fail(
                step,
                Some(&st.addr),
                format!("id `{}`, expected `{}`", live.id, st.id),
            ));
        }
        if live.inputs != st.inputs {
            return Err(self.fail(
                step,
                Some(&st.addr),
                format!(
                    "drift right after the change: live inputs {} differ from applied {}",
                    Value::Object(live.inputs),
                    Value::Object(st.inputs.clone())
                ),
            ));
        }
        Ok(())
    }

    /// A create retried after its answer was lost must not make a second resource, and an
    /// adopt after an interrupted create must find the first.
    async fn retry_and_adopt(&self, req: &CreateRequest, st: &NativeState) -> Step<()> {
        match self.provider.create(&self.ctx, req).await {
            Ok(again) if again.id == st.id => {}
            Ok(again) => {
                return Err(self.fail(
                    "create retried",
                    Some(&req.addr),
                    format!("a second resource `{}` (first `{}`)", again.id, st.id),
                ));
            }
            Err(e) if e.class == ErrorClass::Conflict => {}
            Err(e) => return Err(self.provider_err("create retried", Some(&req.addr), e)),
        }
        let adopted = self
            .provider
            .adopt(&self.ctx, req)
            .await
            .map_err(|e| self.provider_err("adopt", Some(&req.addr), e))?;
        match adopted {
            Some(found) if found.id == st.id => Ok(()),
            Some(found) => Err(self.fail(
                "adopt",
                Some(&req.addr),
                format!("adopted `{}`, created `{}`", found.id, st.id),
            )),
            None => Err(self.fail(
                "adopt",
                Some(&req.addr),
                "did not find the resource its create made".into(),
            )),
        }
    }

    /// Discovery lists every created native that discovery covers, with labels that
    /// decode to its owner; at least one native of the case must be found.
    async fn discovered(&self, states: &[NativeState]) -> Step<()> {
        let filter: DiscoveryFilter = self
            .provider
            .owner_filter(&self.target.stack, Some(&self.target.target));
        let found = self
            .provider
            .discover(&self.ctx, &filter)
            .await
            .map_err(|e| self.provider_err("discover", None, e))?;
        let owners: Vec<OwnerTags> = found
            .iter()
            .filter_map(|r| self.provider.decode_owner(&r.tags))
            .collect();
        let seen = states
            .iter()
            .filter(|s| owners.iter().any(|o| o.resource == s.addr.to_string()))
            .count();
        if seen == 0 {
            return Err(self.fail(
                "discover",
                None,
                format!(
                    "none of {} natives found with decodable owner labels among {} resources",
                    states.len(),
                    found.len()
                ),
            ));
        }
        for r in &found {
            let Some(owner) = self.provider.decode_owner(&r.tags) else {
                continue;
            };
            let Some(st) = states.iter().find(|s| s.addr.to_string() == owner.resource) else {
                continue;
            };
            let rebuilt = self
                .provider
                .discovered_state(&self.ctx, &{
                    let mut r = r.clone();
                    r.owner = Some(owner.clone());
                    r
                })
                .await
                .map_err(|e| self.provider_err("discovered state", Some(&st.addr), e))?;
            if let Some(rebuilt) = rebuilt
                && (rebuilt.addr != st.addr || rebuilt.type_name != st.type_name)
            {
                return Err(self.fail(
                    "discovered state",
                    Some(&st.addr),
                    format!(
                        "discovery maps it to `{}` ({}), state has `{}` ({})",
                        rebuilt.addr, rebuilt.type_name, st.addr, st.type_name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// At least one native maps back to the case's kind.
    fn mapped_back(&self, states: &[NativeState]) -> Step<Kind> {
        let kind = self.case.properties.kind();
        let views: Vec<_> = states
            .iter()
            .filter_map(|s| self.provider.to_abstract(s))
            .collect();
        match views.iter().find(|v| v.kind == kind) {
            Some(v) => {
                // Every property the view claims exactly must be what the case asked for.
                let asked = self.case.properties.to_value();
                for (k, got) in &v.properties {
                    if v.approximations.iter().any(|(p, _)| p == k) {
                        continue;
                    }
                    if let Some(want) = asked.get(k).filter(|w| !w.is_null())
                        && want != got
                    {
                        return Err(self.fail(
                            "map back",
                            None,
                            format!("property `{k}` maps back as {got}, the case has {want}"),
                        ));
                    }
                }
                Ok(v.kind)
            }
            None => Err(self.fail(
                "map back",
                None,
                format!(
                    "no native maps back to a {kind} (got {:?})",
                    views.iter().map(|v| v.kind).collect::<Vec<_>>()
                ),
            )),
        }
    }

    /// Apply changed properties: update in place where no forcing input changed, replace
    /// (delete, create) where one did. Returns the new states and what was done.
    async fn change(
        &self,
        step: &'static str,
        mut states: Vec<NativeState>,
        properties: &Properties,
    ) -> Step<(Vec<NativeState>, usize, usize)> {
        let specs = self.expand(properties)?;
        let (mut updated, mut replaced) = (0, 0);
        let mut next: Vec<NativeState> = Vec::with_capacity(specs.len());
        for spec in &specs {
            let inputs = self.resolve(spec, &next)?;
            let Some(pos) = states.iter().position(|s| s.addr.local == spec.local) else {
                return Err(self.fail(step, None, format!("`{}` appeared", spec.local)));
            };
            let prior = states.remove(pos);
            if prior.type_name != spec.type_name
                || spec
                    .force_new
                    .iter()
                    .any(|k| prior.inputs.get(k) != inputs.get(k))
            {
                self.provider
                    .delete(&self.ctx, &prior)
                    .await
                    .map_err(|e| self.provider_err(step, Some(&prior.addr), e))?;
                let (_, st) = self.create_one((step, step), spec, inputs).await?;
                next.push(st);
                replaced += 1;
            } else if prior.inputs != inputs {
                let obs = self
                    .provider
                    .update(&self.ctx, &prior, &inputs)
                    .await
                    .map_err(|e| self.provider_err(step, Some(&prior.addr), e))?;
                let mut st = prior;
                st.id = obs.id;
                st.inputs = inputs;
                st.outputs = obs.outputs;
                self.no_drift(step, &st).await?;
                next.push(st);
                updated += 1;
            } else {
                next.push(prior);
            }
        }
        if let Some(left) = states.first() {
            return Err(self.fail(
                step,
                Some(&left.addr),
                "disappeared from the expansion".into(),
            ));
        }
        Ok((next, updated, replaced))
    }

    async fn delete_all(&self, states: &[NativeState]) -> Step<()> {
        for st in states.iter().rev() {
            self.provider
                .delete(&self.ctx, st)
                .await
                .map_err(|e| self.provider_err("delete", Some(&st.addr), e))?;
        }
        for st in states.iter().rev() {
            self.provider
                .delete(&self.ctx, st)
                .await
                .map_err(|e| self.provider_err("delete again", Some(&st.addr), e))?;
            let live = self.provider.read(&self.ctx, st).await;
            let live = crate::error::gone_as(live, None)
                .map_err(|e| self.provider_err("read after delete", Some(&st.addr), e))?;
            if live.is_some() {
                return Err(self.fail("read after delete", Some(&st.addr), "still there".into()));
            }
        }
        Ok(())
    }
}

/// Natives in an order where each comes after those of its expansion it depends on.
fn order(specs: Vec<NativeSpec>) -> Result<Vec<NativeSpec>, String> {
    let mut left = specs;
    let mut out: Vec<NativeSpec> = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left.iter().position(|s| {
            s.depends_on
                .iter()
                .all(|d| out.iter().any(|o| o.local == *d))
        });
        match ready {
            Some(i) => out.push(left.remove(i)),
            None => return Err("the expansion's natives depend on each other in a cycle".into()),
        }
    }
    Ok(out)
}

/// Run the whole suite on one case. Whatever fails, what was created is deleted again
/// (best effort), so a failing run leaves the server clean for the next case.
pub async fn check(
    provider: &dyn Provider,
    target: &Target,
    case: &Case,
) -> Result<Passed, Failure> {
    let run = Run {
        provider,
        target,
        case,
        ctx: OpContext::detached(format!("conformance-{}", case.name)),
    };
    let specs = run.expand(&case.properties)?;
    let mut passed = Passed::default();
    let states = run.create_all(&specs).await?;
    passed.created = states.len();
    let outcome = async {
        run.discovered(&states).await?;
        let kind = run.mapped_back(&states)?;
        passed.mapped_back.push((case.name.clone(), kind));
        let mut states = states.clone();
        if let Some(update) = &case.update {
            let (next, updated, replaced) = run.change("update in place", states, update).await?;
            if updated == 0 || replaced != 0 {
                return Err(run.fail(
                    "update in place",
                    None,
                    format!(
                        "{updated} natives updated and {replaced} replaced: expected an update only"
                    ),
                ));
            }
            passed.updated = updated;
            states = next;
        }
        if let Some(replace) = &case.replace {
            let (next, _, replaced) = run.change("replace", states, replace).await?;
            if replaced == 0 {
                return Err(run.fail("replace", None, "nothing was replaced".into()));
            }
            passed.replaced = replaced;
            states = next;
        }
        Ok(states)
    }
    .await;
    match outcome {
        Ok(states) => {
            run.delete_all(&states).await?;
            Ok(passed)
        }
        Err(f) => {
            for st in states.iter().rev() {
                let _ = provider.delete(&run.ctx, st).await;
            }
            Err(f)
        }
    }
}
