#!/usr/bin/env bash
# Writes the build recipe (go.mod + go.sum) for one Kubernetes release into go/kubernetes-v<major>.<minor>/.
# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging/...,
# which a consuming module cannot see; so the recipe replaces each with its published v0.<minor>.<patch>.
# Usage: test/cluster/go/new-kubernetes-recipe.sh v1.37.2   (then set versions in test/cluster/config.ts)
set -euo pipefail
version=${1:?usage: $0 vMAJOR.MINOR.PATCH}
[[ $version == v* ]] || version=v$version
minor=${version%.*}
staging=v0.${version#v1.}
dir=$(cd "$(dirname "$0")" && pwd)/kubernetes-$minor
upstream_gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')
rm -rf "$dir" && mkdir -p "$dir"
cd "$dir"
go mod init volpop.test/cluster/kubernetes >/dev/null 2>&1
sed -i "1i // Build recipe for the pinned Kubernetes $minor binaries of the test cluster (written by ../new-kubernetes-recipe.sh)." go.mod
args=()
for module in $(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$upstream_gomod"); do
  args+=("-replace=$module=$module@$staging")
done
go mod edit "${args[@]}"
go get -tool $(printf "k8s.io/kubernetes/cmd/%s@$version " kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl kubelet)
go mod tidy
echo "wrote $dir"
