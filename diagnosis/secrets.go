package diagnosis

import "regexp"

// SecretWords are the words that make a label, annotation, variable or field
// name look like it holds a secret (db_password, API-Key,
// aws_secret_access_key, x-auth-token, ssh_private_key): one list for the
// model's redaction, the runbooks' variables and the playbooks' output.
const SecretWords = `password|passwd|secret|token|api[ _-]?key|credential|private[ _-]?key`

var secretName = regexp.MustCompile(`(?i)(?:` + SecretWords + `)`)

// SecretName reports whether a name looks like it holds a secret.
func SecretName(name string) bool { return secretName.MatchString(name) }
