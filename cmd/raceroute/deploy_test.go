package main

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// decodeStrict decodes a manifest into the Kubernetes API type of its
// kind, refusing unknown fields (what kubectl apply --dry-run=client
// checks offline, against the types of k8s.io/api).
func decodeStrict(t *testing.T, file string) any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var head struct{ APIVersion, Kind string }
	if err := yaml.Unmarshal(b, &head); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var obj any
	switch head.APIVersion + " " + head.Kind {
	case "batch/v1 Job":
		obj = &batchv1.Job{}
	case "v1 PersistentVolumeClaim":
		obj = &corev1.PersistentVolumeClaim{}
	default:
		t.Fatalf("%s: unexpected %s %s", file, head.APIVersion, head.Kind)
	}
	if err := yaml.UnmarshalStrict(b, obj); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return obj
}

// The manifests under deploy/k8s decode strictly into the Kubernetes API
// types, and say what raceroute needs: an Indexed Job whose pod I runs
// part I of N (N = completions = parallelism), with arguments raceroute's
// own check command accepts, writing to the results volume that the
// merge Job reads.
func TestDeployManifests(t *testing.T) {
	dir := filepath.Join("..", "..", "deploy", "k8s")
	pvc := decodeStrict(t, filepath.Join(dir, "results-pvc.yaml")).(*corev1.PersistentVolumeClaim)
	claim := pvc.Name
	for _, name := range []string{"shards-job.yaml", "swarm-job.yaml"} {
		job := decodeStrict(t, filepath.Join(dir, name)).(*batchv1.Job)
		s := job.Spec
		if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || s.Completions == nil || s.Parallelism == nil {
			t.Fatalf("%s: not an Indexed Job with completions and parallelism", name)
		}
		n := int(*s.Completions)
		if int(*s.Parallelism) != n {
			t.Errorf("%s: parallelism %d, completions %d", name, *s.Parallelism, n)
		}
		pod := s.Template.Spec
		if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
			t.Fatalf("%s: want one container, restartPolicy Never", name)
		}
		c := pod.Containers[0]
		env := map[string]corev1.EnvVar{}
		for _, e := range c.Env {
			env[e.Name] = e
		}
		if e, ok := env["JOB_COMPLETION_INDEX"]; !ok || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil ||
			e.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			t.Errorf("%s: JOB_COMPLETION_INDEX is not the completion index", name)
		}
		mounts := resultsMounts(t, name, pod, c, claim)
		if len(c.Command) != 1 || c.Command[0] != "/raceroute" || len(c.Args) == 0 || c.Args[0] != "check" {
			t.Fatalf("%s: want /raceroute check ..., got %v %v", name, c.Command, c.Args)
		}
		if _, err := os.Stat(filepath.Join("testdata", path.Base(c.Args[1]))); err != nil {
			t.Errorf("%s: scenario %s is not one of cmd/raceroute/testdata: %v", name, c.Args[1], err)
		}
		for _, i := range []int{0, n - 1} {
			args := make([]string, len(c.Args)-1)
			for k, a := range c.Args[1:] {
				args[k] = strings.ReplaceAll(a, "$(JOB_COMPLETION_INDEX)", fmt.Sprint(i))
			}
			o := parseCheck(t, name, args)
			part := o.Shard
			if strings.HasPrefix(name, "swarm") {
				part = o.Swarm
			}
			if part.Index != i || part.Count != n || o.format != "json" {
				t.Errorf("%s: pod %d runs part %s in %s, want %d/%d in json", name, i, part, o.format, i, n)
			}
			for _, out := range []string{o.output, o.Fingerprints} {
				if out != "" && !under(out, mounts) {
					t.Errorf("%s: %s is not on the results volume %v", name, out, mounts)
				}
			}
			if o.output == "" || !strings.Contains(o.output, fmt.Sprint(i)) {
				t.Errorf("%s: pod %d writes its report to %q, not a file of its own", name, i, o.output)
			}
		}
	}
	merge := decodeStrict(t, filepath.Join(dir, "merge-job.yaml")).(*batchv1.Job)
	pod := merge.Spec.Template.Spec
	c := pod.Containers[0]
	mounts := resultsMounts(t, "merge-job.yaml", pod, c, claim)
	if len(c.Args) != 2 || c.Args[0] != "merge-results" || !under(c.Args[1], mounts) {
		t.Errorf("merge-job.yaml: want merge-results on the results volume, got %v", c.Args)
	}
	var out bytes.Buffer
	cmd := newMergeCmd()
	cmd.SetArgs([]string{"--help"})
	cmd.SetOut(&out)
	if err := cmd.Execute(); err != nil || !strings.Contains(out.String(), "DIR") {
		t.Errorf("merge-results does not take a directory: %v", err)
	}
}

// resultsMounts returns where container c mounts the volume of claim.
func resultsMounts(t *testing.T, name string, pod corev1.PodSpec, c corev1.Container, claim string) []string {
	t.Helper()
	vols := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
			vols[v.Name] = true
		}
	}
	var mounts []string
	for _, m := range c.VolumeMounts {
		if vols[m.Name] {
			mounts = append(mounts, m.MountPath)
		}
	}
	if len(mounts) == 0 {
		t.Fatalf("%s: the container does not mount the claim %s", name, claim)
	}
	return mounts
}

func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// parseCheck parses check's arguments as the command line does, without
// running the check.
func parseCheck(t *testing.T, name string, args []string) checkOptions {
	t.Helper()
	var got checkOptions
	cmd := newCheckCmdWith(func(_ *cobra.Command, _ []string, o checkOptions) error {
		got = o
		return nil
	})
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%s: raceroute check %s: %v", name, strings.Join(args, " "), err)
	}
	return got
}
