"""What surrounds a launch: the containment reader (facts) and the judge that hands a site to the audits."""
