// The pod sandbox ("pause") process of the test cluster's images: holds a pod's namespaces open.
module volpop.test/cluster/pause

go 1.24.0
