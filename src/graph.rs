//! A small directed acyclic graph keyed by any ordered type: dependencies in, dependents
//! out. The engine uses it for native resources; the scheduler walks it with in-degree
//! counts so a node starts the moment its last dependency finishes.
//!
//! Nodes are numbered and edges hold numbers: a stack of 100,000 natives has about as many
//! edges, and sets of keys per node (each edge cloning two addresses) cost hundreds of
//! megabytes and most of the time of building and walking the graph. Every walk still
//! visits nodes in key order, so results do not depend on the order of insertion.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A directed graph where an edge `a -> b` means "b depends on a" (a goes first).
#[derive(Debug, Clone)]
pub struct Dag<K: Ord + Clone> {
    /// The number of every node; iterating it gives the nodes in key order.
    ids: BTreeMap<K, usize>,
    /// The key of every node number.
    keys: Vec<K>,
    /// What each node depends on.
    deps: Vec<BTreeSet<usize>>,
    /// What depends on each node.
    dependents: Vec<BTreeSet<usize>>,
    /// Whether node numbers follow key order (nodes were added in key order), so that
    /// walks in number order are walks in key order without sorting.
    numbered_in_key_order: bool,
}

impl<K: Ord + Clone> Default for Dag<K> {
    fn default() -> Self {
        Dag {
            ids: BTreeMap::new(),
            keys: Vec::new(),
            deps: Vec::new(),
            dependents: Vec::new(),
            numbered_in_key_order: true,
        }
    }
}

impl<K: Ord + Clone + std::fmt::Display> Dag<K> {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of node `k`, added if missing.
    fn id(&mut self, k: &K) -> usize {
        if let Some(id) = self.ids.get(k) {
            return *id;
        }
        let id = self.keys.len();
        if self.ids.last_key_value().is_some_and(|(last, _)| last > k) {
            self.numbered_in_key_order = false;
        }
        self.ids.insert(k.clone(), id);
        self.keys.push(k.clone());
        self.deps.push(BTreeSet::new());
        self.dependents.push(BTreeSet::new());
        id
    }

    /// A graph of `nodes` and no edge yet, numbered in the order given. For nodes already
    /// in ascending key order (the keys of a map), which it checks: the index is built in
    /// one pass instead of a search per node.
    pub fn with_sorted_nodes(nodes: impl IntoIterator<Item = K>) -> Self {
        let keys: Vec<K> = nodes.into_iter().collect();
        if !keys.windows(2).all(|w| w[0] < w[1]) {
            let mut g = Dag::new();
            for k in keys {
                g.add_node(k);
            }
            return g;
        }
        let n = keys.len();
        Dag {
            ids: keys.iter().cloned().zip(0..).collect(),
            keys,
            deps: vec![BTreeSet::new(); n],
            dependents: vec![BTreeSet::new(); n],
            numbered_in_key_order: true,
        }
    }

    /// Add a node (idempotent).
    pub fn add_node(&mut self, k: K) {
        self.id(&k);
    }

    /// Add the edge "`node` depends on `dep`". Both nodes are added if missing; a
    /// self-edge is ignored.
    pub fn add_edge(&mut self, dep: K, node: K) {
        self.add_edge_ref(&dep, &node);
    }

    /// [`Dag::add_edge`] without giving up the keys (they are cloned only for new nodes).
    pub fn add_edge_ref(&mut self, dep: &K, node: &K) {
        if dep == node {
            return;
        }
        let (d, n) = (self.id(dep), self.id(node));
        self.deps[n].insert(d);
        self.dependents[d].insert(n);
    }

    /// [`Dag::add_edge`] between node numbers (from [`Dag::numbered`]); numbers the graph
    /// never gave out are ignored.
    pub fn add_edge_ids(&mut self, dep: usize, node: usize) {
        if dep == node || dep >= self.keys.len() || node >= self.keys.len() {
            return;
        }
        self.deps[node].insert(dep);
        self.dependents[dep].insert(node);
    }

    /// Whether the node exists.
    pub fn contains(&self, k: &K) -> bool {
        self.ids.contains_key(k)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the graph has no node.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Nodes, in key order.
    pub fn nodes(&self) -> impl Iterator<Item = &K> {
        self.ids.keys()
    }

    /// The keys of a set of node numbers, in key order.
    fn in_key_order(&self, set: Option<&BTreeSet<usize>>) -> std::vec::IntoIter<&K> {
        let mut out: Vec<&K> = set.into_iter().flatten().map(|i| &self.keys[*i]).collect();
        if !self.numbered_in_key_order {
            out.sort();
        }
        out.into_iter()
    }

    /// What `k` depends on, in key order.
    pub fn deps_of<'a>(&'a self, k: &K) -> impl Iterator<Item = &'a K> + use<'a, K> {
        self.in_key_order(self.ids.get(k).map(|i| &self.deps[*i]))
    }

    /// What depends on `k`, in key order.
    pub fn dependents_of<'a>(&'a self, k: &K) -> impl Iterator<Item = &'a K> + use<'a, K> {
        self.in_key_order(self.ids.get(k).map(|i| &self.dependents[*i]))
    }

    /// Every node that transitively depends on `k` (not `k` itself).
    pub fn transitive_dependents(&self, k: &K) -> BTreeSet<K> {
        let Some(start) = self.ids.get(k) else {
            return BTreeSet::new();
        };
        let mut seen = vec![false; self.keys.len()];
        let mut queue: VecDeque<usize> = self.dependents[*start].iter().copied().collect();
        let mut out = BTreeSet::new();
        while let Some(n) = queue.pop_front() {
            if !std::mem::replace(&mut seen[n], true) {
                out.insert(self.keys[n].clone());
                queue.extend(self.dependents[n].iter().copied());
            }
        }
        out
    }

    /// A topological order (dependencies first), or the nodes of one cycle in order.
    pub fn topo_order(&self) -> Result<Vec<K>, Vec<K>> {
        self.topo_order_refs()
            .map(|order| order.into_iter().cloned().collect())
    }

    /// [`Dag::topo_order`] borrowing the keys (a large graph need not clone them all).
    pub fn topo_order_refs(&self) -> Result<Vec<&K>, Vec<K>> {
        Ok(self
            .topo_order_ids()?
            .into_iter()
            .map(|i| &self.keys[i])
            .collect())
    }

    /// [`Dag::topo_order`] as node numbers (see [`Dag::numbered`] and [`Dag::key`]).
    ///
    /// Kahn's algorithm; nodes ready at the same time go in key order, and the dependents
    /// of a node are released in key order, so the order depends only on the graph.
    pub fn topo_order_ids(&self) -> Result<Vec<usize>, Vec<K>> {
        let n = self.keys.len();
        // The position of every node in key order (when numbers do not already follow it).
        let rank: Vec<usize> = if self.numbered_in_key_order {
            Vec::new()
        } else {
            let mut rank = vec![0; n];
            for (pos, id) in self.ids.values().enumerate() {
                rank[*id] = pos;
            }
            rank
        };
        let mut indeg: Vec<usize> = self.deps.iter().map(BTreeSet::len).collect();
        let mut ready: VecDeque<usize> = self
            .ids
            .values()
            .copied()
            .filter(|i| indeg[*i] == 0)
            .collect();
        let mut order = Vec::with_capacity(n);
        let mut released = Vec::new();
        while let Some(k) = ready.pop_front() {
            order.push(k);
            released.clear();
            released.extend(self.dependents[k].iter().copied());
            if !rank.is_empty() {
                released.sort_by_key(|i| rank[*i]);
            }
            for d in &released {
                indeg[*d] -= 1;
                if indeg[*d] == 0 {
                    ready.push_back(*d);
                }
            }
        }
        if order.len() == n {
            return Ok(order);
        }
        Err(self.find_cycle(&indeg))
    }

    /// Every node with its number, in key order: lets a caller line up per-node data with
    /// other maps sorted by the same keys in one walk, then index it by number.
    pub fn numbered(&self) -> impl Iterator<Item = (&K, usize)> {
        self.ids.iter().map(|(k, i)| (k, *i))
    }

    /// The key of node number `id` (numbers come from [`Dag::numbered`] and
    /// [`Dag::topo_order_ids`]). Panics on a number the graph never gave out.
    pub fn key(&self, id: usize) -> &K {
        &self.keys[id]
    }

    /// Walk dependencies from a node left over by Kahn's algorithm (in-degree still
    /// positive) until one repeats.
    fn find_cycle(&self, indeg: &[usize]) -> Vec<K> {
        let remaining = |i: usize| indeg[i] > 0;
        let Some(start) = self.ids.values().copied().find(|i| remaining(*i)) else {
            return Vec::new();
        };
        let mut path: Vec<usize> = vec![start];
        let mut cur = start;
        loop {
            let next = self
                .in_key_order(Some(&self.deps[cur]))
                .find(|k| self.ids.get(*k).is_some_and(|i| remaining(*i)))
                .and_then(|k| self.ids.get(k).copied());
            let Some(next) = next else {
                return path.into_iter().map(|i| self.keys[i].clone()).collect();
            };
            if let Some(pos) = path.iter().position(|p| *p == next) {
                let mut cycle: Vec<K> = path[pos..].iter().map(|i| self.keys[*i].clone()).collect();
                // Dependencies were walked backwards; present the cycle in "needs" order.
                cycle.reverse();
                return cycle;
            }
            path.push(next);
            cur = next;
        }
    }

    /// Render a cycle as `a -> b -> c -> a`.
    pub fn cycle_to_string(cycle: &[K]) -> String {
        let mut s: Vec<String> = cycle.iter().map(|k| k.to_string()).collect();
        if let Some(first) = s.first().cloned() {
            s.push(first);
        }
        s.join(" -> ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topo_order_puts_dependencies_first() {
        let mut g = Dag::new();
        g.add_edge("db", "api");
        g.add_edge("bucket", "cdn");
        g.add_edge("api", "cdn");
        let order = g.topo_order().unwrap();
        let pos = |k| order.iter().position(|x| *x == k).unwrap();
        assert!(pos("db") < pos("api"));
        assert!(pos("api") < pos("cdn"));
        assert!(pos("bucket") < pos("cdn"));
        assert_eq!(
            g.transitive_dependents(&"db"),
            ["api", "cdn"].into_iter().collect()
        );
    }

    #[test]
    fn reports_a_cycle_with_its_path() {
        let mut g = Dag::new();
        g.add_edge("a", "b");
        g.add_edge("b", "c");
        g.add_edge("c", "a");
        g.add_edge("x", "a");
        let cycle = g.topo_order().unwrap_err();
        assert_eq!(cycle.len(), 3);
        let s = Dag::cycle_to_string(&cycle);
        assert!(
            s == "a -> b -> c -> a" || s == "b -> c -> a -> b" || s == "c -> a -> b -> c",
            "{s}"
        );
    }

    #[test]
    fn walks_follow_key_order_whatever_the_insertion_order() {
        let mut g = Dag::new();
        g.add_edge("m", "z");
        g.add_edge("m", "b");
        g.add_edge("a", "b");
        g.add_node("c");
        g.add_edge("m", "b");
        assert_eq!(
            g.nodes().copied().collect::<Vec<_>>(),
            ["a", "b", "c", "m", "z"]
        );
        assert_eq!(
            g.dependents_of(&"m").copied().collect::<Vec<_>>(),
            ["b", "z"]
        );
        assert_eq!(g.deps_of(&"b").copied().collect::<Vec<_>>(), ["a", "m"]);
        assert_eq!(g.topo_order().unwrap(), ["a", "c", "m", "b", "z"]);
    }
}
