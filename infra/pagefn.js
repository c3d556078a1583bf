// CloudFront Function (viewer request, cloudfront-js-2.0) of the default
// behaviour: maps a page path to its file in the web bucket exactly as
// web.Page does, and answers 404 for any other path, so that the bucket
// serves only the pages and assets, never a listing or a stray key.
// infra/web.go fills in ASSETS (every name under web/assets, as fs.Stat
// in web.Page would find it); TestPageFunction_MatchesWebPage runs this
// code with node against web.Page.
var tenantPath = /^\/t\/([a-z0-9][a-z0-9-]{1,30}[a-z0-9])(?:\/([a-z-]*))?\/?$/;
var pages = {
  '': 'signin.html', 'forgot': 'forgot.html', 'signup': 'signup.html', 'profile': 'profile.html',
  'security-pin': 'security-pin.html', 'welcome': 'welcome.html', 'console': 'console/index.html'
};
var assets = __ASSETS__;

// own: a property of m itself, not of Object.prototype (a page named
// "constructor" must not find one).
function own(m, k) { return Object.prototype.hasOwnProperty.call(m, k); }

// clean is Go's path.Clean for a relative path.
function clean(p) {
  var out = [];
  var parts = p.split('/');
  for (var i = 0; i < parts.length; i++) {
    var s = parts[i];
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop(); else out.push('..');
      continue;
    }
    out.push(s);
  }
  return out.length === 0 ? '.' : out.join('/');
}

// page is web.Page: the file answering the (decoded) path p, or ''.
function page(p) {
  if (p === '/' || p === '/index.html') return 'index.html';
  if (p === '/security-pin' || p === '/welcome') return pages[p.slice(1)];
  if (p.indexOf('/assets/') === 0) {
    var name = clean(p.slice(1));
    return name.indexOf('assets/') === 0 && own(assets, name) ? name : '';
  }
  var m = tenantPath.exec(p);
  if (m) {
    var k = m[2] === undefined ? '' : m[2];
    return own(pages, k) ? pages[k] : '';
  }
  return '';
}

function handler(event) {
  var request = event.request;
  var p;
  try {
    // Go's net/http hands web.Page the decoded path; CloudFront gives the
    // URI as the viewer sent it.
    p = decodeURIComponent(request.uri);
  } catch (e) {
    p = '';
  }
  var name = page(p);
  if (name === '') {
    return { statusCode: 404, statusDescription: 'Not Found' };
  }
  request.uri = '/' + name;
  return request;
}
