/* openssl as the offline root (see offline_root.h). */
#include "tests/support/offline_root.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "station/util/xalloc.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

int
offline_run(const char *const *argv, char **out)
{
	struct proc_out o;
	int status = proc_run(argv, NULL, 60000, &o);

	if (out != NULL)
		*out =
		    xasprintf("%s%s", o.out ? o.out : "", o.err ? o.err : "");
	proc_out_clear(&o);
	return status;
}

static void
must(const char *const *argv)
{
	char *out = NULL;

	if (offline_run(argv, &out) != 0) {
		fprintf(stderr, "offline root: %s failed:\n%s\n", argv[1], out);
		abort();
	}
	free(out);
}

void
offline_root_make(const char *root_dir, const char *crl_url)
{
	char *key = xasprintf("%s/root.key", root_dir);
	char *pem = xasprintf("%s/root.pem", root_dir);
	char *cdp = crl_url ?
	    xasprintf("crlDistributionPoints=URI:%s", crl_url) :
	    xstrdup("subjectKeyIdentifier=hash");
	char *cnf;

	mkdir(root_dir, 0700);
	must((const char *[]){ "openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
	    "-out", pem, "-days", "3650", "-subj",
	    "/CN=Test Offline Root CA/O=Example-Org", "-addext",
	    "basicConstraints=critical,CA:TRUE", "-addext",
	    "keyUsage=critical,keyCertSign,cRLSign", "-addext", cdp, NULL });
	cnf = xasprintf("[ca]\ndefault_ca = root\n"
			"[root]\ndatabase = %s/index.txt\n"
			"crlnumber = %s/crlnumber\n"
			"certificate = %s\nprivate_key = %s\n"
			"default_md = sha256\ndefault_crl_days = 30\n"
			"crl_extensions = crl_ext\n"
			"[crl_ext]\nauthorityKeyIdentifier = keyid:always\n",
	    root_dir, root_dir, pem, key);
	free(scratch_write(root_dir, "root.cnf", cnf, 0600));
	free(scratch_write(root_dir, "index.txt", "", 0600));
	free(scratch_write(root_dir, "crlnumber", "01\n", 0600));
	free(cnf);
	free(cdp);
	free(key);
	free(pem);
}

void
offline_root_intermediate(const char *root_dir, const char *ca_dir, int days,
    const char *root_crl_url)
{
	char *rkey = xasprintf("%s/root.key", root_dir);
	char *rpem = xasprintf("%s/root.pem", root_dir);
	char *ikey = xasprintf("%s/intermediate.key", ca_dir);
	char *ipem = xasprintf("%s/intermediate.pem", ca_dir);
	char *csr = xasprintf("%s/intermediate.csr", root_dir);
	char *ndays = xasprintf("%d", days);
	char *ext = xasprintf("basicConstraints = critical,CA:TRUE,pathlen:0\n"
			      "keyUsage = critical,keyCertSign,cRLSign\n"
			      "subjectKeyIdentifier = hash\n"
			      "authorityKeyIdentifier = keyid:always\n"
			      "%s%s\n",
	    root_crl_url ? "crlDistributionPoints = URI:" : "",
	    root_crl_url ? root_crl_url : "");
	char *extfile = scratch_write(root_dir, "intermediate.ext", ext, 0600);
	char *root_copy;

	mkdir(ca_dir, 0700);
	must((const char *[]){ "openssl", "req", "-new", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ikey,
	    "-out", csr, "-subj", "/CN=Test Line Intermediate CA/O=Example-Org",
	    NULL });
	must((const char *[]){ "openssl", "x509", "-req", "-in", csr, "-CA",
	    rpem, "-CAkey", rkey, "-set_serial", "4096", "-days", ndays,
	    "-sha256", "-extfile", extfile, "-out", ipem, NULL });
	root_copy = scratch_read(rpem);
	free(scratch_write(ca_dir, "root.pem", root_copy, 0644));
	free(root_copy);
	free(extfile);
	free(ext);
	free(ndays);
	free(csr);
	free(ipem);
	free(ikey);
	free(rpem);
	free(rkey);
}

void
offline_root_crl(const char *root_dir, const char *out_dir, const char *name)
{
	char *cnf = xasprintf("%s/root.cnf", root_dir);
	char *der = xasprintf("%s/%s", out_dir, name);
	char *pem = xasprintf("%s/%s.pem", out_dir, name);

	must((const char *[]){ "openssl", "ca", "-config", cnf, "-gencrl",
	    "-out", pem, NULL });
	must((const char *[]){ "openssl", "crl", "-in", pem, "-outform", "DER",
	    "-out", der, NULL });
	free(pem);
	free(der);
	free(cnf);
}
