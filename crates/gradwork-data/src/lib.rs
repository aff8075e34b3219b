//! gradwork-data: under construction.
