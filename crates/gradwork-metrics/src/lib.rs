//! gradwork-metrics: under construction.
