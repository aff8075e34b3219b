//! A tensor's shape or strides, stored inline up to [`INLINE_DIMS`] axes.
//!
//! Every tensor, view and reshape carries a shape and a strides list. As two `Vec`s they were two
//! heap allocations per tensor: a single-sample forward pass through a three-layer MLP made 125
//! allocations, most of them these. Tensors almost never have more than six axes, so the lists
//! live inside the layout and only longer ones go to the heap.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// Axes held without a heap allocation.
pub(crate) const INLINE_DIMS: usize = 6;

/// A list of axis sizes or strides: inline up to [`INLINE_DIMS`] items, on the heap beyond.
#[derive(Clone)]
pub(crate) enum Dims {
    Inline {
        len: u8,
        items: [usize; INLINE_DIMS],
    },
    Heap(Vec<usize>),
}

impl Dims {
    /// `len` zeros.
    pub(crate) fn zeros(len: usize) -> Self {
        if len <= INLINE_DIMS {
            Dims::Inline {
                len: len as u8,
                items: [0; INLINE_DIMS],
            }
        } else {
            Dims::Heap(vec![0; len])
        }
    }

    /// An empty list with room for `capacity` items.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        if capacity <= INLINE_DIMS {
            Dims::zeros(0)
        } else {
            Dims::Heap(Vec::with_capacity(capacity))
        }
    }

    /// Appends `item`, moving the list to the heap when it outgrows the inline room.
    pub(crate) fn push(&mut self, item: usize) {
        match self {
            Dims::Inline { len, items } if usize::from(*len) < INLINE_DIMS => {
                items[usize::from(*len)] = item;
                *len += 1;
            }
            Dims::Inline { len, items } => {
                let mut heap = items[..usize::from(*len)].to_vec();
                heap.push(item);
                *self = Dims::Heap(heap);
            }
            Dims::Heap(items) => items.push(item),
        }
    }
}

impl Deref for Dims {
    type Target = [usize];

    fn deref(&self) -> &[usize] {
        match self {
            Dims::Inline { len, items } => &items[..usize::from(*len)],
            Dims::Heap(items) => items,
        }
    }
}

impl DerefMut for Dims {
    fn deref_mut(&mut self) -> &mut [usize] {
        match self {
            Dims::Inline { len, items } => &mut items[..usize::from(*len)],
            Dims::Heap(items) => items,
        }
    }
}

impl<'a> IntoIterator for &'a Dims {
    type Item = &'a usize;
    type IntoIter = std::slice::Iter<'a, usize>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl From<&[usize]> for Dims {
    fn from(items: &[usize]) -> Self {
        let mut dims = Dims::zeros(items.len());
        dims.copy_from_slice(items);
        dims
    }
}

impl From<Vec<usize>> for Dims {
    fn from(items: Vec<usize>) -> Self {
        if items.len() <= INLINE_DIMS {
            Dims::from(items.as_slice())
        } else {
            Dims::Heap(items)
        }
    }
}

impl FromIterator<usize> for Dims {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut dims = Dims::with_capacity(iter.size_hint().0);
        for item in iter {
            dims.push(item);
        }
        dims
    }
}

impl PartialEq for Dims {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Dims {}

impl fmt::Debug for Dims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::{Dims, INLINE_DIMS};

    #[test]
    fn short_and_long_lists_hold_their_items_and_compare_by_value() {
        for len in 0..=INLINE_DIMS + 3 {
            let items: Vec<usize> = (0..len).map(|i| i * i + 1).collect();
            let pushed = items.iter().fold(Dims::with_capacity(0), |mut d, &x| {
                d.push(x);
                d
            });
            let from_vec = Dims::from(items.clone());
            let collected: Dims = items.iter().copied().collect();
            for dims in [&pushed, &from_vec, &collected] {
                assert_eq!(&**dims, items.as_slice(), "len {len}");
                assert_eq!(matches!(dims, Dims::Inline { .. }), len <= INLINE_DIMS);
            }
            assert_eq!(pushed, from_vec);
            assert_eq!(format!("{pushed:?}"), format!("{items:?}"));
        }
        let mut zeros = Dims::zeros(3);
        zeros[1] = 7;
        assert_eq!(&*zeros, &[0, 7, 0]);
        assert_ne!(Dims::from(&[1, 2][..]), Dims::from(&[1, 2, 0][..]));
    }
}
