"""What every part of Recur means by its words, with no Django: fix kinds and their inference
(`fixkinds`), the diagnosis rules' numbers (`rules`), the root-cause signal lexicon
(`signals`), item types (`itemtype`), the shared limits (`limits`) and the `recur-history/1`
exchange format (`history`). `retros` records with this vocabulary, `diagnosis` interprets
with it, `matching` ranks with it; it imports none of them."""
