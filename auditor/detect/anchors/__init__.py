"""Published detection rules for bulk repository access, re-expressed over our normalised events so
`auditor eval` can score them on the same labelled data as AN0732 (the bar to beat)."""
