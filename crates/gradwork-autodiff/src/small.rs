//! A short list stored inline: the per-node input ids and shapes on the tape are almost always a
//! handful of items, and keeping them out of the heap saves two allocations per recorded op.

/// Up to `N` copyable items inline, more on the heap.
#[derive(Debug, Clone)]
pub(crate) enum SmallList<T: Copy + Default, const N: usize> {
    Inline { len: usize, items: [T; N] },
    Heap(Vec<T>),
}

impl<T: Copy + Default, const N: usize> Default for SmallList<T, N> {
    fn default() -> Self {
        SmallList::Inline {
            len: 0,
            items: [T::default(); N],
        }
    }
}

impl<T: Copy + Default, const N: usize> SmallList<T, N> {
    /// The list of `len` items `f(0), f(1), ...`.
    pub(crate) fn from_fn(len: usize, mut f: impl FnMut(usize) -> T) -> Self {
        if len <= N {
            let mut items = [T::default(); N];
            for (i, item) in items[..len].iter_mut().enumerate() {
                *item = f(i);
            }
            SmallList::Inline { len, items }
        } else {
            SmallList::Heap((0..len).map(f).collect())
        }
    }

    /// A copy of `items`.
    pub(crate) fn from_slice(items: &[T]) -> Self {
        Self::from_fn(items.len(), |i| items[i])
    }

    /// The items.
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            SmallList::Inline { len, items } => &items[..*len],
            SmallList::Heap(items) => items,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SmallList;

    #[test]
    fn short_and_long_lists_hold_their_items() {
        let short = SmallList::<usize, 4>::from_slice(&[3, 1, 2]);
        assert!(matches!(short, SmallList::Inline { .. }));
        assert_eq!(short.as_slice(), &[3, 1, 2]);
        let long = SmallList::<usize, 2>::from_fn(5, |i| i * i);
        assert!(matches!(long, SmallList::Heap(_)));
        assert_eq!(long.as_slice(), &[0, 1, 4, 9, 16]);
        assert!(SmallList::<usize, 2>::default().as_slice().is_empty());
    }
}
