//! gradwork-optim: under construction; see the issues for what it will hold.
